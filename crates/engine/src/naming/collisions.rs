//! Making a batch of names unique, among themselves and against names already taken.

use std::collections::{HashMap, HashSet};

use super::DocName;

/// The names in order, each kept if it is neither used earlier in the batch nor `taken` (e.g.
/// already on the Twin), otherwise the first free `with_suffix(n)` for n = 1, 2, … (the same
/// numbering as the queue's rename on conflict). First come keeps its name, and the same input
/// always gives the same output. Names are compared case-sensitively, as the server does.
///
/// `taken` must be a pure function that is false for all but finitely many names, or this does
/// not finish.
pub fn resolve_collisions(names: Vec<DocName>, taken: &dyn Fn(&DocName) -> bool) -> Vec<DocName> {
    let mut used: HashSet<DocName> = HashSet::with_capacity(names.len());
    // Where the search for a name's next free suffix resumes: every suffix below it was used or
    // taken, and stays so, which keeps a batch of n equal names linear instead of quadratic.
    let mut next: HashMap<DocName, u32> = HashMap::new();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let chosen = if !used.contains(&name) && !taken(&name) {
            name
        } else {
            let mut n = next.get(&name).copied().unwrap_or(1);
            let candidate = loop {
                let candidate = name.with_suffix(n);
                n = n.checked_add(1).expect("fewer than u32::MAX names are taken");
                if !used.contains(&candidate) && !taken(&candidate) {
                    break candidate;
                }
            };
            next.insert(name, n);
            candidate
        };
        used.insert(chosen.clone());
        out.push(chosen);
    }
    out
}

/// The order in which files of one batch claim their proposed names: first those whose own
/// file name is the proposed name's last part (`same_name.txt` keeps `same_name.txt`, and
/// `same name.txt` steps aside), then by path. It depends only on the batch, never on the order
/// the files were found in, so the same tree is named the same way every time.
pub fn claim_order(items: &[(&std::path::Path, &str)]) -> Vec<usize> {
    let renamed = |&(path, proposed): &(&std::path::Path, &str)| {
        let file = path.file_name().map(|n| n.to_string_lossy());
        file.as_deref() != proposed.rsplit('/').next()
    };
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| (renamed(&items[a]), items[a].0).cmp(&(renamed(&items[b]), items[b].0)));
    order
}

/// [`resolve_collisions`] in [`claim_order`]: unique names for files named alike, given back
/// in the files' order.
pub fn unique_names(items: &[(&std::path::Path, DocName)]) -> Vec<DocName> {
    let keys: Vec<(&std::path::Path, &str)> = items.iter().map(|(p, n)| (*p, n.as_str())).collect();
    let order = claim_order(&keys);
    let resolved = resolve_collisions(order.iter().map(|&i| items[i].1.clone()).collect(), &|_| false);
    let mut out = vec![None; items.len()];
    for (i, name) in order.into_iter().zip(resolved) {
        out[i] = Some(name);
    }
    out.into_iter().map(|n| n.expect("every index once")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<DocName> {
        list.iter().map(|n| DocName::parse(n).unwrap()).collect()
    }

    fn strs(list: &[DocName]) -> Vec<&str> {
        list.iter().map(DocName::as_str).collect()
    }

    #[test]
    fn first_come_keeps_its_name() {
        let out = resolve_collisions(names(&["a.txt", "b", "a.txt", "a.txt", "b"]), &|_| false);
        assert_eq!(strs(&out), ["a.txt", "b", "a-1.txt", "a-2.txt", "b-1"]);
    }

    #[test]
    fn taken_names_are_stepped_round() {
        let on_twin = names(&["report.pdf", "report-1.pdf"]);
        let out = resolve_collisions(names(&["report.pdf", "x/report.pdf"]), &|n| on_twin.contains(n));
        assert_eq!(strs(&out), ["report-2.pdf", "x/report.pdf"]);
    }

    #[test]
    fn a_suffixed_name_in_the_batch_is_not_reused() {
        let out = resolve_collisions(names(&["a", "a", "a-1"]), &|_| false);
        assert_eq!(strs(&out), ["a", "a-1", "a-1-1"]);
        let out = resolve_collisions(names(&["a-1", "a", "a"]), &|_| false);
        assert_eq!(strs(&out), ["a-1", "a", "a-2"]);
    }

    #[test]
    fn full_length_names_stay_valid_and_distinct() {
        let long = format!("d/{}.txt", "y".repeat(32));
        let out = resolve_collisions(names(&[long.as_str(); 12]), &|_| false);
        let unique: HashSet<_> = out.iter().collect();
        assert_eq!(unique.len(), 12);
        assert_eq!(out[11].as_str(), format!("d/{}-11.txt", "y".repeat(29)));
    }

    #[test]
    fn case_differs_means_distinct() {
        let out = resolve_collisions(names(&["A", "a"]), &|_| false);
        assert_eq!(strs(&out), ["A", "a"]);
    }

    #[test]
    fn many_equal_names_resolve_in_linear_time() {
        let out = resolve_collisions(names(&["same"; 20_000]), &|_| false);
        assert_eq!(out.last().unwrap().as_str(), "same-19999");
    }

    #[test]
    fn the_file_with_the_name_keeps_it_whatever_the_order() {
        use std::path::Path;
        let (spaced, plain) = (Path::new("d/same name.txt"), Path::new("d/same_name.txt"));
        let name = DocName::parse("same_name.txt").unwrap();
        for items in [[(spaced, name.clone()), (plain, name.clone())], [(plain, name.clone()), (spaced, name.clone())]]
        {
            let out = unique_names(&items);
            let by_path: HashMap<_, _> = items.iter().map(|(p, _)| *p).zip(strs(&out)).collect();
            assert_eq!((by_path[plain], by_path[spaced]), ("same_name.txt", "same_name-1.txt"));
        }
    }
}
