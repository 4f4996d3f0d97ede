//! [`Tracked`]: an ordered map that remembers which keys changed, so that the store can append
//! just those entries to its log after a change instead of writing the whole state.
//!
//! Every way to change an entry goes through a method that marks its key: `get_mut`, `insert`,
//! `remove`, `take_all`, `get_or_insert_with`. There is no `values_mut` or `iter_mut`: a handler
//! that wants to change many entries names them, so a sweep over 100,000 uploads that expires
//! three of them logs three records, not 100,000.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What happened to a key since the store last collected the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Borrowed mutably: the value (or something nested in it) may have changed in place.
    Modified,
    /// Inserted, replaced or removed: whatever was logged under the key before is void, nested
    /// entries included.
    Replaced,
}

/// Serialized as (and read from) a plain JSON object, like the `BTreeMap` it replaces, so state
/// files written before it existed still load.
#[derive(Clone)]
pub(crate) struct Tracked<K: Ord, V> {
    map: BTreeMap<K, V>,
    dirty: BTreeMap<K, Change>,
}

impl<K: Ord, V> Default for Tracked<K, V> {
    fn default() -> Self {
        Tracked { map: BTreeMap::new(), dirty: BTreeMap::new() }
    }
}

impl<K: Ord + fmt::Debug, V: fmt::Debug> fmt::Debug for Tracked<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.map.fmt(f)
    }
}

impl<K: Ord + Clone, V> Tracked<K, V> {
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.map.get(key)
    }

    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.map.contains_key(key)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub(crate) fn iter(&self) -> std::collections::btree_map::Iter<'_, K, V> {
        self.map.iter()
    }

    pub(crate) fn keys(&self) -> std::collections::btree_map::Keys<'_, K, V> {
        self.map.keys()
    }

    pub(crate) fn values(&self) -> std::collections::btree_map::Values<'_, K, V> {
        self.map.values()
    }

    /// Marks the key as changed (when it is there).
    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ToOwned<Owned = K> + ?Sized,
    {
        let value = self.map.get_mut(key)?;
        if !self.dirty.contains_key(key) {
            self.dirty.insert(key.to_owned(), Change::Modified);
        }
        Some(value)
    }

    pub(crate) fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let change = if self.map.contains_key(&key) { Change::Modified } else { Change::Replaced };
        let dirty = self.dirty.entry(key.clone()).or_insert(change);
        if change == Change::Replaced {
            *dirty = Change::Replaced;
        }
        self.map.entry(key).or_insert_with(make)
    }

    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.dirty.insert(key.clone(), Change::Replaced);
        self.map.insert(key, value)
    }

    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ToOwned<Owned = K> + ?Sized,
    {
        let value = self.map.remove(key)?;
        self.dirty.insert(key.to_owned(), Change::Replaced);
        Some(value)
    }

    /// Empties the map, returning what it held; every key is marked as removed.
    pub(crate) fn take_all(&mut self) -> BTreeMap<K, V> {
        for key in self.map.keys() {
            self.dirty.insert(key.clone(), Change::Replaced);
        }
        std::mem::take(&mut self.map)
    }

    /// The keys changed since the last call, and how.
    pub(super) fn take_changes(&mut self) -> BTreeMap<K, Change> {
        std::mem::take(&mut self.dirty)
    }

    /// Whether anything changed since the last [`Tracked::take_changes`].
    #[cfg(test)]
    pub(super) fn has_changes(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// For collecting changes and replaying the log: no marking.
    pub(super) fn untracked_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.map.get_mut(key)
    }

    /// For replaying the log: no marking.
    pub(super) fn untracked_map(&mut self) -> &mut BTreeMap<K, V> {
        &mut self.map
    }
}

impl<K: Ord, V, Q> std::ops::Index<&Q> for Tracked<K, V>
where
    K: Borrow<Q>,
    Q: Ord + ?Sized,
{
    type Output = V;

    fn index(&self, key: &Q) -> &V {
        &self.map[key]
    }
}

impl<'a, K: Ord, V> IntoIterator for &'a Tracked<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::collections::btree_map::Iter<'a, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

impl<K: Ord, V> From<BTreeMap<K, V>> for Tracked<K, V> {
    /// Nothing is marked: for a map that is already on disk (a loaded one).
    fn from(map: BTreeMap<K, V>) -> Self {
        Tracked { map, dirty: BTreeMap::new() }
    }
}

impl<K: Ord + Serialize, V: Serialize> Serialize for Tracked<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(serializer)
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Tracked<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(deserializer).map(Tracked::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_marks_its_key_and_reads_do_not() {
        let mut map: Tracked<String, u32> = Tracked::default();
        map.insert("a".into(), 1);
        map.insert("b".into(), 2);
        assert_eq!(map.take_changes().len(), 2);
        assert_eq!(map.get("a"), Some(&1));
        assert!(map.contains_key("b") && map.iter().count() == 2);
        assert!(!map.has_changes(), "reads mark nothing");

        *map.get_mut("a").unwrap() += 1;
        assert!(map.get_mut("missing").is_none());
        assert_eq!(map.take_changes().into_iter().collect::<Vec<_>>(), vec![("a".to_owned(), Change::Modified)]);

        map.remove("b");
        *map.get_or_insert_with("c".into(), || 0) += 1;
        *map.get_or_insert_with("a".into(), || 0) += 1;
        let changes = map.take_changes();
        assert_eq!(changes["b"], Change::Replaced);
        assert_eq!(changes["c"], Change::Replaced);
        assert_eq!(changes["a"], Change::Modified);

        map.insert("d".into(), 4);
        map.get_mut("d");
        assert_eq!(map.take_changes()["d"], Change::Replaced, "a modification does not undo a replacement");

        let all = map.take_all();
        assert_eq!(all.len(), 3);
        assert!(map.is_empty());
        assert_eq!(map.take_changes().len(), 3);
    }

    #[test]
    fn serialized_as_a_plain_object() {
        let mut map: Tracked<String, u32> = Tracked::default();
        map.insert("x".into(), 7);
        assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"x":7}"#);
        let back: Tracked<String, u32> = serde_json::from_str(r#"{"x":7}"#).unwrap();
        assert_eq!(back["x"], 7);
        assert!(!back.has_changes(), "a loaded map is already on disk");
    }
}
