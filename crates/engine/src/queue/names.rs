//! The names of a batch, decided once: every file to upload gets a name no other file of the
//! batch has and, under `rename`, none that another local file holds at the destination. The
//! decisions are kept in the journal (`names`), so the same tree is named the same way on
//! every run, and a new file never takes the name of another file's Doc.

use std::collections::HashSet;

use super::plan::{PlanAction, PlanItem};
use super::{ConflictPolicy, Queue};
use crate::error::{Error, Result};
use crate::naming;
use crate::service::Destination;

impl Queue {
    /// Every file to upload gets a name no other file of this batch has and, under `rename`,
    /// none that another local file holds at `dest` by an earlier decision in the journal: the
    /// first free `name-N` (as Trusted Twin's rename at attach). A file keeps the name decided for it
    /// before, so the same tree is named the same on every run. Files whose own name is the
    /// proposed one choose first, then path order.
    /// An explicit `replace` policy takes names as they come: the person asked to overwrite.
    /// With `commit`, the decisions are kept in the journal.
    pub(super) fn unique_names(
        &self,
        dest: &Destination,
        plan: &mut [PlanItem],
        on_conflict: ConflictPolicy,
        commit: bool,
    ) -> Result<()> {
        if on_conflict == ConflictPolicy::Replace {
            return Ok(());
        }
        let base = self.base_url();
        let uploads: Vec<usize> = (0..plan.len()).filter(|&i| plan[i].action == PlanAction::Upload).collect();
        let keys: Vec<(&std::path::Path, &str)> =
            uploads.iter().map(|&i| (plan[i].path.as_path(), plan[i].doc_name.as_deref().unwrap_or(""))).collect();
        let order: Vec<usize> = naming::claim_order(&keys).into_iter().map(|k| uploads[k]).collect();
        let mut used = HashSet::new();
        // Names of this batch's other items (resumed or skipped ones keep theirs).
        for item in plan.iter().filter(|i| i.action != PlanAction::Upload) {
            if let Some(name) = &item.doc_name {
                used.insert(name.clone());
            }
        }
        for i in order {
            let Some(proposed) = plan[i].doc_name.clone() else { continue };
            let path = plan[i].path.clone();
            // Under `skip`, a name another file took in an earlier batch is a conflict the
            // attach resolves by skipping; only names in this batch are stepped round.
            let free = |name: &str, used: &HashSet<String>| -> Result<bool> {
                let held = on_conflict == ConflictPolicy::Rename
                    && self.journal.name_held_by_other(base, dest, name, &path)?;
                Ok(!used.contains(name) && !held)
            };
            let decided = match self.journal.decided_name(base, dest, &path, &proposed)? {
                Some(name) if free(&name, &used)? => name,
                _ if free(&proposed, &used)? => proposed.clone(),
                _ => {
                    let mut found = None;
                    for n in 1..=crate::service::upload_api::RENAME_TRIES {
                        let candidate = self.suffixed(&proposed, n)?;
                        if free(&candidate, &used)? {
                            found = Some(candidate);
                            break;
                        }
                    }
                    found.ok_or_else(|| Error::AttachRejected {
                        name: proposed.clone(),
                        message: format!("no free name after {} tries", crate::service::upload_api::RENAME_TRIES),
                    })?
                }
            };
            used.insert(decided.clone());
            if decided != proposed {
                plan[i].renamed_from = Some(proposed);
                plan[i].doc_name = Some(decided);
            }
        }
        if commit {
            let decisions: Vec<(&std::path::Path, &str, &str)> = plan
                .iter()
                .filter(|item| item.action == PlanAction::Upload)
                .filter_map(|item| {
                    let name = item.doc_name.as_deref()?;
                    Some((item.path.as_path(), item.renamed_from.as_deref().unwrap_or(name), name))
                })
                .collect();
            self.journal.decide_names(base, dest, &decisions)?;
        }
        Ok(())
    }

    /// `name` with the suffix `-n`, as the service takes it.
    fn suffixed(&self, name: &str, n: u32) -> Result<String> {
        self.service.api().names().suffixed(name, n)
    }
}
