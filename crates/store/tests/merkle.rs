//! The audit log's Merkle tree: stored hashes, roots and proofs against a
//! second, naive RFC 9162 implementation and the transparency-dev test
//! vectors; proofs under random sizes and single bit flips; tamper tests
//! that change the database behind the store's back; fail closed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use doorstroom_store::audit::{self, Checkpoint, ProofError, TamperError, TreeBuilder};
use doorstroom_store::merkle::{self, Digest, EMPTY_ROOT};
use doorstroom_store::testing::{TestBackend, TestDb, break_audit_writes};
use doorstroom_store::{DbConn, Store, StoreError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sha2::{Digest as _, Sha256};

type R<T> = Result<T, StoreError>;

// ---- a second implementation: RFC 9162 §2.1, written from the text ----

fn sha(parts: &[&[u8]]) -> Digest {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The largest power of two smaller than n (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]).
fn mth(d: &[Vec<u8>]) -> Digest {
    match d.len() {
        0 => sha(&[]),
        1 => sha(&[&[0], &d[0]]),
        n => {
            let k = split(n);
            sha(&[&[1], &mth(&d[..k]), &mth(&d[k..])])
        }
    }
}

/// PATH(m, D[n]).
fn path(m: usize, d: &[Vec<u8>]) -> Vec<Digest> {
    let n = d.len();
    if n == 1 {
        return vec![];
    }
    let k = split(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
fn consistency(m: usize, d: &[Vec<u8>]) -> Vec<Digest> {
    fn subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<Digest> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = split(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }
    subproof(m, d, true)
}

/// The stored hashes of the tree, in the order they are written: for each
/// leaf, its hash and then the hashes of the perfect subtrees it completes.
fn naive_stored_hashes(d: &[Vec<u8>]) -> Vec<Digest> {
    let mut out = Vec::new();
    for n in 0..d.len() {
        out.push(mth(&d[n..=n]));
        let mut width = 2;
        while (n + 1) % width == 0 {
            out.push(mth(&d[n + 1 - width..=n]));
            width *= 2;
        }
    }
    out
}

fn hex32(s: &str) -> Digest {
    hex::decode(s).unwrap().try_into().unwrap()
}

// ---- transparency-dev test vectors (proof/verify_test.go) ----

fn vector_leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|h| hex::decode(h).unwrap())
    .collect()
}

/// `ROOTS[i]` is the root of the tree of the first i + 1 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, audit path).
fn vector_inclusion_proofs() -> Vec<(i64, i64, Vec<Digest>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                hex32("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                hex32("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                hex32("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                hex32("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                hex32("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                hex32("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![hex32(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                hex32("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                hex32("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                hex32("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// (old size, new size, consistency proof).
fn vector_consistency_proofs() -> Vec<(i64, i64, Vec<Digest>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                hex32("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                hex32("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                hex32("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                hex32("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                hex32("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                hex32("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                hex32("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                hex32("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                hex32("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                hex32("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                hex32("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

/// Stored hashes in memory, laid out as `TreeBuilder::push` returns them,
/// for `tlog_tiles`' proof generation.
struct MemHashes(Vec<tlog_tiles::Hash>);

impl tlog_tiles::HashReader for MemHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                self.0
                    .get(i as usize)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

fn mem_tree(leaves: &[Vec<u8>]) -> (MemHashes, TreeBuilder) {
    let mut tree = TreeBuilder::new();
    let mut stored = Vec::new();
    for leaf in leaves {
        stored.extend(tree.push(leaf).unwrap().into_iter().map(tlog_tiles::Hash));
    }
    (MemHashes(stored), tree)
}

fn entries_of(leaves: &[Vec<u8>]) -> Vec<(i64, String)> {
    (1..)
        .zip(leaves)
        .map(|(seq, l)| (seq, String::from_utf8(l.clone()).unwrap()))
        .collect()
}

#[test]
fn transparency_dev_vectors() {
    let leaves = vector_leaves();
    assert_eq!(merkle::verify_entries(&[]).unwrap(), EMPTY_ROOT);
    assert_eq!(mth(&[]), EMPTY_ROOT);
    for size in 1..=leaves.len() {
        let want = hex32(ROOTS[size - 1]);
        // The vectors' leaves are ASCII, so they can be entries.
        assert_eq!(
            merkle::verify_entries(&entries_of(&leaves[..size])).unwrap(),
            want,
            "size {size}"
        );
        assert_eq!(mem_tree(&leaves[..size]).1.root().unwrap(), want, "size {size}");
        assert_eq!(mth(&leaves[..size]), want, "naive, size {size}");
    }
    let (stored, _) = mem_tree(&leaves);
    for (index, size, proof) in vector_inclusion_proofs() {
        let leaf = merkle::leaf_hash(&leaves[index as usize]);
        let root = hex32(ROOTS[size as usize - 1]);
        audit::check_inclusion(&leaf, index, size, &proof, &root).unwrap();
        let made = tlog_tiles::prove_record(size as u64, index as u64, &stored).unwrap();
        assert_eq!(
            made.iter().map(|h| h.0).collect::<Vec<_>>(),
            proof,
            "prove {index} in {size}"
        );
        assert_eq!(
            path(index as usize, &leaves[..size as usize]),
            proof,
            "naive {index} in {size}"
        );
        assert_flips_rejected_inclusion(&leaf, index, size, &proof, &root);
    }
    for (old, new, proof) in vector_consistency_proofs() {
        let (old_root, new_root) = (hex32(ROOTS[old as usize - 1]), hex32(ROOTS[new as usize - 1]));
        audit::check_consistency(old, new, &old_root, &new_root, &proof).unwrap();
        let made = tlog_tiles::prove_tree(new as u64, old as u64, &stored).unwrap();
        assert_eq!(
            made.iter().map(|h| h.0).collect::<Vec<_>>(),
            proof,
            "prove {old} -> {new}"
        );
        assert_eq!(
            consistency(old as usize, &leaves[..new as usize]),
            proof,
            "naive {old} -> {new}"
        );
        assert_flips_rejected_consistency(old, new, &old_root, &new_root, &proof);
    }
}

#[test]
fn proof_checkers_reject_bad_arguments() {
    let root = hex32(ROOTS[7]);
    let leaf = merkle::leaf_hash(b"");
    let some = [0x42; 32];
    for (index, size) in [(0, 0), (-1, 8), (8, 8), (9, 8), (0, -1)] {
        assert!(matches!(
            audit::check_inclusion(&leaf, index, size, &[], &root),
            Err(ProofError::OutOfRange(_))
        ));
    }
    for (old, new) in [(0, 0), (0, 8), (9, 8), (-1, 8), (1, -1)] {
        assert!(matches!(
            audit::check_consistency(old, new, &root, &root, &[]),
            Err(ProofError::OutOfRange(_))
        ));
    }
    // A one-leaf tree: the root is the leaf hash and the proof is empty.
    audit::check_inclusion(&leaf, 0, 1, &[], &leaf).unwrap();
    assert_eq!(
        audit::check_inclusion(&leaf, 0, 1, &[some], &leaf),
        Err(ProofError::Invalid)
    );
    assert_eq!(
        audit::check_inclusion(&some, 0, 1, &[], &leaf),
        Err(ProofError::Invalid)
    );
    // Equal sizes: equal roots and an empty proof.
    audit::check_consistency(8, 8, &root, &root, &[]).unwrap();
    assert_eq!(
        audit::check_consistency(8, 8, &root, &some, &[]),
        Err(ProofError::Invalid)
    );
    assert_eq!(
        audit::check_consistency(8, 8, &root, &root, &[some]),
        Err(ProofError::Invalid)
    );
    // A non-trivial proof that is empty, short or long.
    let (_, _, proof) = vector_consistency_proofs().remove(2);
    let old_root = hex32(ROOTS[5]);
    assert_eq!(
        audit::check_consistency(6, 8, &old_root, &root, &[]),
        Err(ProofError::Invalid)
    );
    assert_eq!(
        audit::check_consistency(6, 8, &old_root, &root, &proof[..2]),
        Err(ProofError::Invalid)
    );
    let mut longer = proof.clone();
    longer.push(some);
    assert_eq!(
        audit::check_consistency(6, 8, &old_root, &root, &longer),
        Err(ProofError::Invalid)
    );
    assert_eq!(
        audit::check_consistency(6, 8, &root, &old_root, &proof),
        Err(ProofError::Invalid)
    );
    assert_eq!(
        audit::check_consistency(5, 8, &old_root, &root, &proof),
        Err(ProofError::Invalid)
    );
    assert_eq!(
        audit::check_consistency(6, 16, &old_root, &root, &proof),
        Err(ProofError::Invalid)
    );
}

#[test]
fn verify_entries_requires_seqs_from_one() {
    let entries = entries_of(&vector_leaves());
    let mut gap = entries.clone();
    gap.remove(3);
    assert!(matches!(
        merkle::verify_entries(&gap),
        Err(TamperError::Sequence { expected: 4, found: 5 })
    ));
    assert!(matches!(
        merkle::verify_entries(&entries[1..]),
        Err(TamperError::Sequence { expected: 1, found: 2 })
    ));
}

fn assert_flips_rejected_inclusion(leaf: &Digest, index: i64, size: i64, proof: &[Digest], root: &Digest) {
    for i in 0..proof.len() {
        for bit in 0..256 {
            let mut bad = proof.to_vec();
            bad[i][bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                audit::check_inclusion(leaf, index, size, &bad, root),
                Err(ProofError::Invalid),
                "flip of bit {bit} of hash {i} accepted ({index} in {size})"
            );
        }
    }
}

fn assert_flips_rejected_consistency(old: i64, new: i64, old_root: &Digest, new_root: &Digest, proof: &[Digest]) {
    for i in 0..proof.len() {
        for bit in 0..256 {
            let mut bad = proof.to_vec();
            bad[i][bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                audit::check_consistency(old, new, old_root, new_root, &bad),
                Err(ProofError::Invalid),
                "flip of bit {bit} of hash {i} accepted ({old} -> {new})"
            );
        }
    }
}

proptest! {
    #![proptest_config(Config { cases: 64, failure_persistence: None, ..Config::default() })]

    /// In memory, on random leaves: roots, stored hashes and proofs agree
    /// with the naive implementation, and the proofs verify.
    #[test]
    fn random_trees_match_the_naive_implementation(
        leaves in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..=200),
        picks in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 4),
    ) {
        let (stored, tree) = mem_tree(&leaves);
        prop_assert_eq!(tree.root().unwrap(), mth(&leaves));
        prop_assert_eq!(stored.0.iter().map(|h| h.0).collect::<Vec<_>>(), naive_stored_hashes(&leaves));
        for (a, b) in picks {
            let size = b.index(leaves.len()) + 1;
            let index = a.index(size);
            let root = mth(&leaves[..size]);
            let proof: Vec<Digest> = tlog_tiles::prove_record(size as u64, index as u64, &stored)
                .unwrap().iter().map(|h| h.0).collect();
            prop_assert_eq!(&proof, &path(index, &leaves[..size]));
            let leaf = merkle::leaf_hash(&leaves[index]);
            prop_assert!(audit::check_inclusion(&leaf, index as i64, size as i64, &proof, &root).is_ok());
            let old = index + 1;
            let cproof: Vec<Digest> = tlog_tiles::prove_tree(size as u64, old as u64, &stored)
                .unwrap().iter().map(|h| h.0).collect();
            prop_assert_eq!(&cproof, &consistency(old, &leaves[..size]));
            let old_root = mth(&leaves[..old]);
            prop_assert!(audit::check_consistency(old as i64, size as i64, &old_root, &root, &cproof).is_ok());
        }
    }
}

// ---- the log in the database ----

fn append_events(store: &Store, range: std::ops::Range<u32>) {
    let events: Vec<_> = range.map(event).collect();
    for chunk in events.chunks(25) {
        store
            .write(|c| chunk.iter().try_for_each(|e| audit::append(c, e)))
            .unwrap();
    }
}

fn all_entries(store: &Store) -> Vec<Vec<u8>> {
    let size = store.read(audit::tree_size).unwrap();
    let mut out = Vec::new();
    while (out.len() as i64) < size {
        let start = out.len() as i64;
        let page = store.read(|c| audit::entries(c, start, size)).unwrap();
        assert!(!page.is_empty());
        for (seq, entry) in page {
            assert_eq!(seq, out.len() as i64 + 1);
            out.push(entry.into_bytes());
        }
    }
    out
}

fn stored_hashes(store: &Store) -> Vec<(i64, Digest)> {
    #[derive(diesel::QueryableByName)]
    struct StoredHash {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        idx: i64,
        #[diesel(sql_type = diesel::sql_types::Binary)]
        hash: Vec<u8>,
    }
    store
        .read(|c| -> R<Vec<StoredHash>> {
            Ok(diesel::sql_query("SELECT idx, hash FROM audit_hashes ORDER BY idx").load(c)?)
        })
        .unwrap()
        .into_iter()
        .map(|h| (h.idx, h.hash.try_into().unwrap()))
        .collect()
}

fn hashes_and_roots_match_a_naive_implementation(db: &TestDb) {
    let store = db.store();
    assert_eq!(store.read(audit::tree_size).unwrap(), 0);
    assert_eq!(store.read(|c| audit::tree_hash(c, 0)).unwrap(), EMPTY_ROOT);
    assert_eq!(store.read(audit::verify_log).unwrap().root, EMPTY_ROOT);
    append_events(&store, 0..30);
    for i in 30..37 {
        store.write(|c| audit::append(c, &event(i))).unwrap();
    }
    let leaves = all_entries(&store);
    assert_eq!(leaves.len(), 37);
    for (i, leaf) in leaves.iter().enumerate() {
        assert_eq!(leaf, event(i as u32).canonical_json().as_bytes());
    }
    let stored = stored_hashes(&store);
    let naive = naive_stored_hashes(&leaves);
    assert_eq!(
        stored.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        (0..naive.len() as i64).collect::<Vec<_>>()
    );
    assert_eq!(stored.iter().map(|(_, h)| *h).collect::<Vec<_>>(), naive);
    for size in 0..=37 {
        assert_eq!(
            store.read(|c| audit::tree_hash(c, size)).unwrap(),
            mth(&leaves[..size as usize]),
            "size {size}"
        );
    }
    let verified = store.read(audit::verify_log).unwrap();
    assert_eq!(verified.size, 37);
    assert_eq!(verified.root, mth(&leaves));
    let entries: Vec<(i64, String)> = store.read(|c| audit::entries(c, 0, 37)).unwrap();
    assert_eq!(merkle::verify_entries(&entries).unwrap(), verified.root);
    let mut tree = TreeBuilder::new();
    for leaf in &leaves {
        tree.push(leaf).unwrap();
    }
    assert_eq!(tree.size(), 37);
    assert_eq!(tree.root().unwrap(), verified.root);
}

fn proofs_verify_and_reject_every_bit_flip(db: &TestDb) {
    let store = db.store();
    append_events(&store, 0..200);
    let leaves = all_entries(&store);
    let roots: Vec<Digest> = (0..=200)
        .map(|s| store.read(|c| audit::tree_hash(c, s)).unwrap())
        .collect();
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let pairs = (1..=200i64).prop_flat_map(|size| (0..size, Just(size)));
    runner
        .run(&pairs, |(index, size)| {
            let proof = store.read(|c| audit::inclusion_proof(c, index, size)).unwrap();
            prop_assert_eq!(&proof, &path(index as usize, &leaves[..size as usize]));
            let leaf = merkle::leaf_hash(&leaves[index as usize]);
            let root = &roots[size as usize];
            prop_assert!(audit::check_inclusion(&leaf, index, size, &proof, root).is_ok());
            assert_flips_rejected_inclusion(&leaf, index, size, &proof, root);
            if size > 1 {
                let other = if index + 1 < size { index + 1 } else { index - 1 };
                prop_assert!(audit::check_inclusion(&leaf, other, size, &proof, root).is_err());
            }
            // Old = index + 1: every (old, new) with 1 <= old <= new.
            let old = index + 1;
            let proof = store.read(|c| audit::consistency_proof(c, old, size)).unwrap();
            prop_assert_eq!(&proof, &consistency(old as usize, &leaves[..size as usize]));
            let old_root = &roots[old as usize];
            prop_assert!(audit::check_consistency(old, size, old_root, root, &proof).is_ok());
            assert_flips_rejected_consistency(old, size, old_root, root, &proof);
            Ok(())
        })
        .unwrap();
}

fn out_of_range_arguments_are_typed(db: &TestDb) {
    let store = db.store();
    append_events(&store, 0..10);
    let out_of_range = |r: R<Vec<Digest>>| matches!(r, Err(StoreError::OutOfRange(_)));
    for (index, size) in [(-1, 5), (5, 5), (6, 5), (0, 11), (0, -1), (0, 0), (i64::MAX, i64::MAX)] {
        assert!(
            out_of_range(store.read(|c| audit::inclusion_proof(c, index, size))),
            "inclusion {index} {size}"
        );
    }
    for (old, new) in [(0, 5), (6, 5), (-1, 5), (1, 11), (5, -1), (i64::MIN, i64::MAX)] {
        assert!(
            out_of_range(store.read(|c| audit::consistency_proof(c, old, new))),
            "consistency {old} {new}"
        );
    }
    for size in [-1, 11, i64::MAX] {
        assert!(matches!(
            store.read(|c| audit::tree_hash(c, size)),
            Err(StoreError::OutOfRange(_))
        ));
    }
    for (start, end) in [(-1, 5), (5, 4), (0, 11), (11, 11)] {
        assert!(matches!(
            store.read(|c| audit::entries(c, start, end)),
            Err(StoreError::OutOfRange(_))
        ));
    }
    assert!(store.read(|c| audit::entries(c, 4, 4)).unwrap().is_empty());
    assert!(store.read(|c| audit::entries(c, 10, 10)).unwrap().is_empty());
    let page = store.read(|c| audit::entries(c, 3, 6)).unwrap();
    assert_eq!(page.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![4, 5, 6]);
    assert_eq!(page[0].1, event(3).canonical_json());
    assert!(store.read(|c| audit::consistency_proof(c, 10, 10)).unwrap().is_empty());
    assert!(store.read(|c| audit::inclusion_proof(c, 0, 1)).unwrap().is_empty());
}

fn many_entries_are_paged(db: &TestDb) {
    let store = db.store();
    append_events(&store, 0..1005);
    let page = store.read(|c| audit::entries(c, 0, 1005)).unwrap();
    assert_eq!(page.len() as i64, audit::MAX_ENTRIES);
    assert_eq!(page.last().unwrap().0, 1000);
    let rest = store.read(|c| audit::entries(c, 1000, 1005)).unwrap();
    assert_eq!(
        rest.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        (1001..=1005).collect::<Vec<_>>()
    );
    // verify_log pages too.
    assert_eq!(store.read(audit::verify_log).unwrap().size, 1005);
}

/// A C2SP checkpoint in a signed note (the signature line is not checked here).
fn note(size: i64, root: &Digest) -> String {
    format!(
        "doorstroom.test/audit\n{size}\n{}\n\n\u{2014} doorstroom.test/audit AAAAAAAA\n",
        tlog_tiles::Hash(*root)
    )
}

fn checkpoint_at(store: &Store, size: i64) -> Checkpoint {
    let root = store.read(|c| audit::tree_hash(c, size)).unwrap();
    Checkpoint {
        size,
        root,
        signed_note: note(size, &root),
        created_at: at(size),
    }
}

fn checkpoints_are_checked_and_round_trip(db: &TestDb) {
    let store = db.store();
    assert_eq!(store.read(audit::latest_checkpoint).unwrap(), None);
    store
        .write(|c| audit::record_checkpoint(c, &checkpoint_at(&store, 0)))
        .unwrap();
    append_events(&store, 0..12);
    let cp5 = checkpoint_at(&store, 5);
    let cp12 = checkpoint_at(&store, 12);
    store.write(|c| audit::record_checkpoint(c, &cp12)).unwrap();
    store.write(|c| audit::record_checkpoint(c, &cp5)).unwrap();
    // The same again is a no-op; another note for that size is a conflict.
    store.write(|c| audit::record_checkpoint(c, &cp5)).unwrap();
    let other = Checkpoint {
        signed_note: cp5.signed_note.replace("AAAAAAAA", "BBBBBBBB"),
        ..cp5.clone()
    };
    assert!(matches!(
        store.write(|c| audit::record_checkpoint(c, &other)),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.read(audit::latest_checkpoint).unwrap(), Some(cp12.clone()));
    assert_eq!(store.read(|c| audit::checkpoint(c, 5)).unwrap(), Some(cp5.clone()));
    assert_eq!(store.read(|c| audit::checkpoint(c, 6)).unwrap(), None);
    // Refused: beyond the log, a wrong root, a note that says otherwise.
    let beyond = Checkpoint {
        size: 13,
        ..cp12.clone()
    };
    assert!(matches!(
        store.write(|c| audit::record_checkpoint(c, &beyond)),
        Err(StoreError::OutOfRange(_))
    ));
    let wrong_root = Checkpoint { size: 6, ..cp5.clone() };
    assert!(matches!(
        store.write(|c| audit::record_checkpoint(c, &wrong_root)),
        Err(StoreError::Inconsistent(_))
    ));
    let cp7 = checkpoint_at(&store, 7);
    for bad_note in [note(8, &cp7.root), note(7, &cp5.root), "not a checkpoint".to_owned()] {
        let bad = Checkpoint {
            signed_note: bad_note,
            ..cp7.clone()
        };
        assert!(matches!(
            store.write(|c| audit::record_checkpoint(c, &bad)),
            Err(StoreError::Inconsistent(_))
        ));
    }
    let verified = store.read(audit::verify_log).unwrap();
    assert_eq!((verified.size, verified.root), (12, cp12.root));
    // The tables are append-only.
    for sql in [
        "UPDATE audit_hashes SET idx = idx + 1000 WHERE idx = 0",
        "DELETE FROM audit_hashes WHERE idx = 0",
        "UPDATE audit_checkpoints SET size = 4 WHERE size = 5",
        "DELETE FROM audit_checkpoints WHERE size = 5",
    ] {
        assert!(
            store.write(|c| -> R<()> { Ok(c.batch_execute(sql)?) }).is_err(),
            "{sql} must be refused"
        );
    }
    assert_eq!(store.read(audit::verify_log).unwrap(), verified);
}

// ---- tampering behind the store's back ----

/// Raw SQL, as an attacker with database access would run it.
fn sql(store: &Store, sql: &str) {
    store
        .write(|c| -> R<()> { Ok(c.batch_execute(sql)?) })
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Drops the append-only guards, as a first step of tampering.
fn disable_triggers(db: &TestDb, store: &Store) {
    match db.backend {
        TestBackend::Sqlite => sql(
            store,
            "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; \
             DROP TRIGGER audit_hashes_no_update; DROP TRIGGER audit_hashes_no_delete; \
             DROP TRIGGER audit_checkpoints_no_update; DROP TRIGGER audit_checkpoints_no_delete;",
        ),
        TestBackend::Postgres => sql(
            store,
            "ALTER TABLE audit_events DISABLE TRIGGER USER; ALTER TABLE audit_hashes DISABLE TRIGGER USER; \
             ALTER TABLE audit_checkpoints DISABLE TRIGGER USER;",
        ),
    }
}

fn bytes_literal(db: &TestDb, bytes: &[u8]) -> String {
    match db.backend {
        TestBackend::Sqlite => format!("X'{}'", hex::encode(bytes)),
        TestBackend::Postgres => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

/// A fresh log on one backend (the store drops before its database).
struct Log {
    store: Store,
    db: TestDb,
}

/// A fresh log of 20 events with a checkpoint at 20, triggers off.
fn tamperable(backend: TestBackend) -> Log {
    let db = TestDb::new(backend);
    let store = db.store();
    append_events(&store, 0..20);
    store
        .write(|c| audit::record_checkpoint(c, &checkpoint_at(&store, 20)))
        .unwrap();
    let verified = store.read(audit::verify_log).unwrap();
    assert_eq!(verified.size, 20);
    disable_triggers(&db, &store);
    Log { store, db }
}

fn verify(store: &Store) -> Result<audit::VerifiedLog, TamperError> {
    store
        .read(|c: &mut DbConn| -> Result<_, StoreError> { Ok(audit::verify_log(c)) })
        .unwrap()
}

fn untouched_log_verifies(db: &TestDb) {
    let log = tamperable(db.backend);
    let store = log.store.clone();
    let verified = verify(&store).unwrap();
    assert_eq!(verified.size, 20);
    assert_eq!(verified.root, store.read(|c| audit::tree_hash(c, 20)).unwrap());
    // Appending after the checkpoint keeps it valid.
    append_events(&store, 20..23);
    assert_eq!(verify(&store).unwrap().size, 23);
}

fn altered_entry_byte_is_caught(db: &TestDb) {
    // One byte that keeps the JSON an event: the columns disagree.
    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(
        &store,
        "UPDATE audit_events SET entry = replace(entry, '\"req-4\"', '\"req-X\"') WHERE seq = 5",
    );
    let err = verify(&store).unwrap_err();
    assert!(
        matches!(
            err,
            TamperError::Column {
                seq: 5,
                column: "request_id"
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("event 5"), "{err}");

    // One byte that breaks the JSON.
    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(
        &store,
        "UPDATE audit_events SET entry = replace(entry, '{\"time\"', '[\"time\"') WHERE seq = 7",
    );
    let err = verify(&store).unwrap_err();
    assert!(matches!(err, TamperError::Entry { seq: 7, .. }), "{err:?}");

    // Still the same event, but not its canonical bytes (so another leaf).
    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(
        &store,
        "UPDATE audit_events SET entry = replace(entry, '{\"time\"', '{ \"time\"') WHERE seq = 9",
    );
    let err = verify(&store).unwrap_err();
    assert!(matches!(err, TamperError::Entry { seq: 9, .. }), "{err:?}");
}

fn altered_column_is_caught(db: &TestDb) {
    let log = tamperable(db.backend);
    let store = log.store.clone();
    // Event 3 (seq 4) succeeded; claim it was denied.
    sql(&store, "UPDATE audit_events SET outcome = 'denied' WHERE seq = 4");
    let err = verify(&store).unwrap_err();
    assert!(
        matches!(
            err,
            TamperError::Column {
                seq: 4,
                column: "outcome"
            }
        ),
        "{err:?}"
    );

    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(&store, "UPDATE audit_events SET time = time + 1 WHERE seq = 11");
    let err = verify(&store).unwrap_err();
    assert!(
        matches!(
            err,
            TamperError::Column {
                seq: 11,
                column: "time"
            }
        ),
        "{err:?}"
    );
}

fn consistently_rewritten_event_is_caught(db: &TestDb) {
    // Entry and columns rewritten together: only the hashes tell.
    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(
        &store,
        "UPDATE audit_events SET request_id = 'req-X', \
         entry = replace(entry, '\"req-12\"', '\"req-X\"') WHERE seq = 13",
    );
    let err = verify(&store).unwrap_err();
    assert!(matches!(err, TamperError::LeafHash { seq: 13, .. }), "{err:?}");
    assert!(err.to_string().contains("event 13"), "{err}");
}

fn altered_stored_hash_is_caught(db: &TestDb) {
    let stored_at = |store: &Store, idx: i64| stored_hashes(store)[idx as usize].1;
    // An interior hash: index 2 is the node over leaves 0 and 1.
    let log = tamperable(db.backend);
    let store = log.store.clone();
    let mut hash = stored_at(&store, 2);
    hash[31] ^= 1;
    sql(
        &store,
        &format!(
            "UPDATE audit_hashes SET hash = {} WHERE idx = 2",
            bytes_literal(&log.db, &hash)
        ),
    );
    let err = verify(&store).unwrap_err();
    assert!(matches!(err, TamperError::StoredHash { index: 2 }), "{err:?}");
    assert!(err.to_string().contains("stored hash 2"), "{err}");

    // A leaf hash: index 3 is leaf 2, event 3.
    let log = tamperable(db.backend);
    let store = log.store.clone();
    let mut hash = stored_at(&store, 3);
    hash[0] ^= 0x80;
    sql(
        &store,
        &format!(
            "UPDATE audit_hashes SET hash = {} WHERE idx = 3",
            bytes_literal(&log.db, &hash)
        ),
    );
    let err = verify(&store).unwrap_err();
    assert!(matches!(err, TamperError::LeafHash { seq: 3, index: 3 }), "{err:?}");

    // A deleted stored hash.
    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(&store, "DELETE FROM audit_hashes WHERE idx = 14");
    let err = verify(&store).unwrap_err();
    assert!(matches!(err, TamperError::MissingHash { index: 14 }), "{err:?}");
    // Hash 14 is the node over leaves 0..8: tree hashes and proofs that
    // need it fail as corrupt (a 500), never as the caller's mistake.
    assert!(matches!(
        store.read(|c| audit::tree_hash(c, 8)),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.read(|c| audit::inclusion_proof(c, 10, 20)),
        Err(StoreError::Corrupt { .. })
    ));
}

fn deleted_event_is_caught(db: &TestDb) {
    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(&store, "DELETE FROM audit_events WHERE seq = 6");
    let err = verify(&store).unwrap_err();
    assert!(
        matches!(err, TamperError::Sequence { expected: 6, found: 7 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("event 6"), "{err}");
}

const COLUMNS: &str = "time, actor_kind, actor_institution, actor_id, on_behalf_of, action_crud, action_name, \
                       resource_kind, resource_id, data_subject, purpose, outcome, reason, request_id, entry";

fn swapped_events_are_caught(db: &TestDb) {
    // Whole rows swapped (each still self-consistent): the leaf hashes tell.
    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(
        &store,
        &format!(
            "CREATE TEMPORARY TABLE swap AS SELECT * FROM audit_events WHERE seq IN (8, 15); \
             DELETE FROM audit_events WHERE seq IN (8, 15); \
             INSERT INTO audit_events (seq, {COLUMNS}) SELECT 23 - seq, {COLUMNS} FROM swap; \
             DROP TABLE swap;"
        ),
    );
    let err = verify(&store).unwrap_err();
    assert!(matches!(err, TamperError::LeafHash { seq: 8, .. }), "{err:?}");

    // Only the entries swapped: the columns tell.
    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(
        &store,
        "CREATE TEMPORARY TABLE swap AS SELECT seq, entry FROM audit_events WHERE seq IN (8, 15); \
         UPDATE audit_events SET entry = (SELECT entry FROM swap WHERE swap.seq = 23 - audit_events.seq) \
         WHERE seq IN (8, 15); \
         DROP TABLE swap;",
    );
    let err = verify(&store).unwrap_err();
    assert!(matches!(err, TamperError::Column { seq: 8, .. }), "{err:?}");
}

fn truncated_and_reappended_log_is_caught(db: &TestDb) {
    let keep = tlog_tiles::stored_hash_count(17);
    // Truncate the last 3 events and their hashes, then append 3 others
    // through the store: a valid tree, but not the checkpointed one.
    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(
        &store,
        &format!("DELETE FROM audit_events WHERE seq > 17; DELETE FROM audit_hashes WHERE idx >= {keep};"),
    );
    append_events(&store, 100..103);
    let err = verify(&store).unwrap_err();
    assert!(
        matches!(err, TamperError::Checkpoint { size: 20, problem } if problem.contains("root")),
        "{err:?}"
    );
    assert!(err.to_string().contains("size 20"), "{err}");
    // The proofs a client asks for now disagree with the signed root.
    let cp = store.read(|c| audit::checkpoint(c, 20)).unwrap().unwrap();
    assert_ne!(store.read(|c| audit::tree_hash(c, 20)).unwrap(), cp.root);

    // Truncated only: the checkpoint lies beyond the log.
    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(
        &store,
        &format!("DELETE FROM audit_events WHERE seq > 17; DELETE FROM audit_hashes WHERE idx >= {keep};"),
    );
    let err = verify(&store).unwrap_err();
    assert!(
        matches!(err, TamperError::Checkpoint { size: 20, problem } if problem.contains("beyond")),
        "{err:?}"
    );

    // Events truncated, hashes left: the extra hashes tell.
    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(&store, "DELETE FROM audit_events WHERE seq > 17");
    let err = verify(&store).unwrap_err();
    assert!(
        matches!(err, TamperError::ExtraHash { size: 17, index } if index == keep as i64),
        "{err:?}"
    );

    // A checkpoint whose root was rewritten.
    let log = tamperable(db.backend);
    let store = log.store.clone();
    sql(
        &store,
        &format!(
            "UPDATE audit_checkpoints SET root = {} WHERE size = 20",
            bytes_literal(&log.db, &[7; 32])
        ),
    );
    let err = verify(&store).unwrap_err();
    assert!(matches!(err, TamperError::Checkpoint { size: 20, .. }), "{err:?}");
}

fn audit_failure_writes_neither_event_nor_hashes(db: &TestDb) {
    let store = db.store();
    append_events(&store, 0..3);
    let before = stored_hashes(&store);
    break_audit_writes(&store);
    assert!(store.write(|c| audit::append(c, &event(3))).is_err());
    assert_eq!(store.read(audit::tree_size).unwrap(), 3);
    assert_eq!(stored_hashes(&store), before);

    // And the other way round: a hash that cannot be written takes the
    // event (and the access) with it.
    let store = db.store();
    match db.backend {
        TestBackend::Sqlite => sql(
            &store,
            "DROP TRIGGER audit_disabled_by_test; \
             CREATE TRIGGER hashes_disabled_by_test BEFORE INSERT ON audit_hashes \
             BEGIN SELECT RAISE(ABORT, 'hashes disabled by test'); END;",
        ),
        TestBackend::Postgres => sql(
            &store,
            "DROP TRIGGER audit_disabled_by_test ON audit_events; \
             CREATE TRIGGER hashes_disabled_by_test BEFORE INSERT ON audit_hashes \
             FOR EACH ROW EXECUTE FUNCTION audit_disabled_by_test();",
        ),
    }
    let school = institution("25LX", doorstroom_domain::Sector::Vo);
    let result = store.write(|c| -> R<()> {
        doorstroom_store::institutions::insert(c, &school)?;
        audit::append(c, &event(3))?;
        Ok(())
    });
    assert!(result.is_err());
    assert_eq!(store.read(audit::tree_size).unwrap(), 3);
    assert_eq!(stored_hashes(&store), before);
    assert_eq!(
        store
            .read(|c| doorstroom_store::institutions::get(c, &school.brin))
            .unwrap(),
        None
    );
    assert_eq!(verify(&store).unwrap().size, 3);
}

fn events_older_than_the_tree_are_backfilled(db: &TestDb) {
    let store = db.store();
    append_events(&store, 0..21);
    let verified = verify(&store).unwrap();
    disable_triggers(db, &store);
    // As before the migration: events without hashes.
    sql(&store, "DELETE FROM audit_hashes");
    assert!(verify(&store).is_err());
    drop(store);
    // Opening the store hashes them, once.
    let store = db.store();
    assert_eq!(verify(&store).unwrap(), verified);
    assert_eq!(store.write(merkle::backfill).unwrap(), 0);
    append_events(&store, 21..25);
    assert_eq!(verify(&store).unwrap().size, 25);
}

doorstroom_store::backend_tests!(
    hashes_and_roots_match_a_naive_implementation,
    proofs_verify_and_reject_every_bit_flip,
    out_of_range_arguments_are_typed,
    many_entries_are_paged,
    checkpoints_are_checked_and_round_trip,
    untouched_log_verifies,
    altered_entry_byte_is_caught,
    altered_column_is_caught,
    consistently_rewritten_event_is_caught,
    altered_stored_hash_is_caught,
    deleted_event_is_caught,
    swapped_events_are_caught,
    truncated_and_reappended_log_is_caught,
    audit_failure_writes_neither_event_nor_hashes,
    events_older_than_the_tree_are_backfilled,
);
