//! The flags that take one of a fixed set of words, as `clap::ValueEnum`s, so `--help` and the
//! shell completions list them. Each word maps onto the engine's own type; a word that is none
//! of them is refused with the engine's error (its stable code, e.g. `conflict_policy.invalid`),
//! which `main` prints as JSON under `--json`, as it did when these were parsed by hand.

use std::ffi::OsStr;
use std::marker::PhantomData;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::ValueEnum;
use twindrop_engine::folders::DeletePolicy;
use twindrop_engine::queue::{ConflictPolicy, FolderConflicts};
use twindrop_engine::service::trusted_twin::StorageClass;
use twindrop_engine::service::ServiceKind;
use twindrop_engine::Error;

/// A fixed set of words whose refusal is the engine's.
pub trait Choice: ValueEnum + Clone + Send + Sync + 'static {
    /// Why `word` is none of them: the engine's parser's error.
    fn refuse(word: &str) -> Error;
}

/// Parses a [`Choice`] (exact words and aliases), lists its words for help and completion, and
/// carries the engine's error as the clap error's source.
#[derive(Clone)]
pub struct ChoiceParser<T>(PhantomData<T>);

impl<T: Choice> TypedValueParser for ChoiceParser<T> {
    type Value = T;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<T, clap::Error> {
        if let Some(found) = value.to_str().and_then(|word| T::from_str(word, false).ok()) {
            return Ok(found);
        }
        let refuse = |word: &str| Err::<T, Error>(T::refuse(word));
        refuse.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(T::value_variants().iter().filter_map(ValueEnum::to_possible_value)))
    }
}

/// The parser of a [`Choice`] flag: `#[arg(value_parser = choice::parser::<OnConflict>())]`
/// (clap's own inference would pick its `EnumValueParser`, whose refusal has no engine code).
pub fn parser<T: Choice>() -> ChoiceParser<T> {
    ChoiceParser(PhantomData)
}

macro_rules! choice {
    ($($ty:ty => $refuse:expr;)*) => {$(
        impl Choice for $ty {
            fn refuse(word: &str) -> Error {
                let refuse: fn(&str) -> Option<Error> = $refuse;
                refuse(word).unwrap_or_else(|| {
                    Error::Internal(format!("{word:?} is accepted by the engine but not by this flag"))
                })
            }
        }
    )*};
}

choice! {
    Service => |w| ServiceKind::parse(w).err();
    OnConflict => |w| ConflictPolicy::parse(w).err();
    FolderOnConflict => |w| FolderConflicts::parse(w).err();
    Storage => |w| StorageClass::parse(w).err();
    OnDelete => |w| DeletePolicy::parse(w).err();
}

/// `--service`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Service {
    /// Trusted Twin: Docs on a Twin.
    #[value(alias = "trusted_twin", alias = "tt")]
    TrustedTwin,
    /// Redivis: files of a file-index table.
    Redivis,
    /// Screening Eagle Inspect: files of an asset.
    Inspect,
    /// Alibaba HBR: temporary files.
    Hbr,
}

impl From<Service> for ServiceKind {
    fn from(s: Service) -> ServiceKind {
        match s {
            Service::TrustedTwin => ServiceKind::TrustedTwin,
            Service::Redivis => ServiceKind::Redivis,
            Service::Inspect => ServiceKind::Inspect,
            Service::Hbr => ServiceKind::Hbr,
        }
    }
}

/// `upload --on-conflict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnConflict {
    /// Leave the file out.
    Skip,
    /// Attach as name-1, name-2…
    Rename,
    /// Delete the other Doc, then attach.
    Replace,
}

impl From<OnConflict> for ConflictPolicy {
    fn from(c: OnConflict) -> ConflictPolicy {
        match c {
            OnConflict::Skip => ConflictPolicy::Skip,
            OnConflict::Rename => ConflictPolicy::Rename,
            OnConflict::Replace => ConflictPolicy::Replace,
        }
    }
}

/// `sync --on-conflict`: a watched folder never replaces a Doc it did not make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FolderOnConflict {
    /// Attach as name-1, name-2…
    Rename,
    /// Leave the file out.
    Skip,
}

impl From<FolderOnConflict> for FolderConflicts {
    fn from(c: FolderOnConflict) -> FolderConflicts {
        match c {
            FolderOnConflict::Rename => FolderConflicts::Rename,
            FolderOnConflict::Skip => FolderConflicts::Skip,
        }
    }
}

/// `--storage-class`: the API's own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Storage {
    #[value(name = "access_optimized", alias = "access-optimized")]
    AccessOptimized,
    #[value(name = "cost_optimized", alias = "cost-optimized")]
    CostOptimized,
}

impl From<Storage> for StorageClass {
    fn from(s: Storage) -> StorageClass {
        match s {
            Storage::AccessOptimized => StorageClass::AccessOptimized,
            Storage::CostOptimized => StorageClass::CostOptimized,
        }
    }
}

/// `sync --delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnDelete {
    /// Keep the Doc.
    Ignore,
    /// Delete the Doc too.
    Mirror,
}

impl From<OnDelete> for DeletePolicy {
    fn from(d: OnDelete) -> DeletePolicy {
        match d {
            OnDelete::Ignore => DeletePolicy::Ignore,
            OnDelete::Mirror => DeletePolicy::Mirror,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word each flag lists is one the engine takes, meaning the same thing: the lists
    /// cannot drift from the engine's parsers.
    #[test]
    fn each_word_is_the_engines() {
        fn words<T: ValueEnum>() -> Vec<(T, String)> {
            T::value_variants()
                .iter()
                .flat_map(|v| {
                    let pv = v.to_possible_value().unwrap();
                    pv.get_name_and_aliases().map(|w| (v.clone(), w.to_owned())).collect::<Vec<_>>()
                })
                .collect()
        }
        for (v, w) in words::<Service>() {
            assert_eq!(ServiceKind::parse(&w).unwrap(), ServiceKind::from(v), "{w}");
        }
        for (v, w) in words::<OnConflict>() {
            assert_eq!(ConflictPolicy::parse(&w).unwrap(), ConflictPolicy::from(v), "{w}");
        }
        for (v, w) in words::<FolderOnConflict>() {
            assert_eq!(FolderConflicts::parse(&w).unwrap(), FolderConflicts::from(v), "{w}");
        }
        for (v, w) in words::<OnDelete>() {
            assert_eq!(DeletePolicy::parse(&w).unwrap(), DeletePolicy::from(v), "{w}");
        }
        for (v, w) in words::<Storage>() {
            if !w.contains('-') {
                assert_eq!(StorageClass::parse(&w).unwrap(), StorageClass::from(v), "{w}");
            }
        }
        // The spellings people use today still parse.
        for w in ["trusted-twin", "trusted_twin", "tt", "redivis", "inspect", "hbr"] {
            assert!(Service::from_str(w, false).is_ok(), "{w}");
        }
        assert_eq!(Service::refuse("nope").code(), "service.invalid");
        assert_eq!(OnConflict::refuse("merge").code(), "conflict_policy.invalid");
        assert_eq!(FolderOnConflict::refuse("replace").code(), "conflict_policy.invalid");
        assert_eq!(Storage::refuse("fast").code(), "storage_class.invalid");
        assert_eq!(OnDelete::refuse("keep").code(), "delete_policy.invalid");
    }
}
