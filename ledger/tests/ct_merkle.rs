//! Differential tests of `ledger::merkle` against the independent `ct-merkle`
//! crate (RFC 6962): roots, inclusion proofs and consistency proofs for every
//! size, index and pair of sizes up to 48 leaves, each proof checked by the
//! other implementation's verifier too.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use ledger::event::leaf_hash;
use ledger::ids::Digest;
use ledger::merkle::{
    consistency_proof, inclusion_proof, root_of, verify_consistency, verify_inclusion, FullTree,
};
use sha2::Sha256;

const MAX: usize = 48;

fn leaf_bytes(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("leaf {i} {}", "x".repeat(i % 7)).into_bytes())
        .collect()
}

fn ct_tree(leaves: &[Vec<u8>]) -> MemoryBackedTree<Sha256, Vec<u8>> {
    let mut t = MemoryBackedTree::new();
    for l in leaves {
        t.push(l.clone());
    }
    t
}

fn flat(proof: &[Digest]) -> Vec<u8> {
    proof.iter().flat_map(|d| d.0).collect()
}

fn digests(bytes: &[u8]) -> Vec<Digest> {
    bytes
        .chunks(32)
        .map(|c| Digest(c.try_into().unwrap()))
        .collect()
}

fn ct_root(t: &MemoryBackedTree<Sha256, Vec<u8>>) -> Digest {
    Digest(t.root().as_bytes().as_slice().try_into().unwrap())
}

#[test]
fn roots_and_inclusion_proofs_agree_with_ct_merkle() {
    let all = leaf_bytes(MAX);
    let hashes: Vec<Digest> = all.iter().map(|l| leaf_hash(l)).collect();
    let full = FullTree::from_leaves(hashes.iter().copied());
    for size in 1..=MAX {
        let t = ct_tree(&all[..size]);
        let root = root_of(&hashes[..size]);
        assert_eq!(ct_root(&t), root, "root of {size}");
        assert_eq!(full.root_at(size as u64).unwrap(), root);
        let ct_root_hash = t.root();
        for idx in 0..size {
            let ours = inclusion_proof(&hashes, idx as u64, size as u64).unwrap();
            let theirs = t.prove_inclusion(idx);
            assert_eq!(
                theirs.as_bytes(),
                flat(&ours).as_slice(),
                "path {idx} of {size}"
            );
            // Each verifier accepts the other's proof.
            let theirs_as_ours = digests(theirs.as_bytes());
            verify_inclusion(
                &hashes[idx],
                idx as u64,
                size as u64,
                &theirs_as_ours,
                &root,
            )
            .unwrap();
            let ours_as_theirs = InclusionProof::<Sha256>::from_bytes(flat(&ours));
            ct_root_hash
                .verify_inclusion(&all[idx], idx as u64, &ours_as_theirs)
                .unwrap();
            // And both refuse the wrong leaf.
            let other = &all[(idx + 1) % size];
            if size > 1 {
                assert!(ct_root_hash
                    .verify_inclusion(other, idx as u64, &ours_as_theirs)
                    .is_err());
                assert!(
                    verify_inclusion(&leaf_hash(other), idx as u64, size as u64, &ours, &root)
                        .is_err()
                );
            }
        }
    }
}

#[test]
fn consistency_proofs_agree_with_ct_merkle() {
    let all = leaf_bytes(MAX);
    let hashes: Vec<Digest> = all.iter().map(|l| leaf_hash(l)).collect();
    for size2 in 2..=MAX {
        let t = ct_tree(&all[..size2]);
        let new_root = t.root();
        for size1 in 1..size2 {
            let ours = consistency_proof(&hashes, size1 as u64, size2 as u64).unwrap();
            let theirs = t.prove_consistency(size2 - size1);
            assert_eq!(
                theirs.as_bytes(),
                flat(&ours).as_slice(),
                "consistency {size1} -> {size2}"
            );
            let (r1, r2) = (root_of(&hashes[..size1]), root_of(&hashes[..size2]));
            verify_consistency(
                size1 as u64,
                size2 as u64,
                &digests(theirs.as_bytes()),
                &r1,
                &r2,
            )
            .unwrap();
            let old = RootHash::<Sha256>::new(r1.0.into(), size1 as u64);
            let ours_as_theirs = ConsistencyProof::<Sha256>::try_from_bytes(flat(&ours)).unwrap();
            new_root.verify_consistency(&old, &ours_as_theirs).unwrap();
        }
    }
}
