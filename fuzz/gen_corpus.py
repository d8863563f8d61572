#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the
golden vectors (schemas/golden/events.json): real events, the bundle
`tallinn audit export` writes of that ledger, publish input lines, signed
checkpoints with a cosignature, a tlog-proof, and JetStream messages.

Needs Python 3 and `cryptography` (Ed25519 signatures of the checkpoints, with
the golden vectors' fixed TEST keys). Deterministic: running it again writes
the same bytes. Run from anywhere: `python3 fuzz/gen_corpus.py`.
"""

import base64
import hashlib
import json
import os
import struct
from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = json.load(open(os.path.join(HERE, "..", "schemas", "golden", "events.json")))
ORIGIN = GOLDEN["origin"]
# The seeds of schemas/golden/events.json: Signer::from_seed(member, [seed; 32]).
SEEDS = {s["member"]: bytes.fromhex(s["seed_hex"]) for s in GOLDEN["signers"]}
LOG, WITNESS = "TM-SECRETARIAT", "EE-MFA"
# 2024-03-10T00:00:00Z, after the golden ledger's last event.
TIME = 1_710_028_800
EM_DASH = "\u2014"


def sha256(b):
    return hashlib.sha256(b).digest()


def b64(b):
    return base64.b64encode(b).decode()


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def key(member):
    return Ed25519PrivateKey.from_private_bytes(SEEDS[member])


def public(member):
    from cryptography.hazmat.primitives import serialization

    return key(member).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def key_id(name, typ, pub):
    return sha256(name.encode() + b"\n" + bytes([typ]) + pub)[:4]


def mth(ids):
    """RFC 6962 Merkle tree hash over leaf hashes."""
    if len(ids) <= 1:
        return ids[0] if ids else sha256(b"")
    k = 1 << ((len(ids) - 1).bit_length() - 1)
    return sha256(b"\x01" + mth(ids[:k]) + mth(ids[k:]))


def inclusion(ids, index):
    """The RFC 6962 audit path of leaf `index` in the tree of `ids`, bottom up."""
    if len(ids) <= 1:
        return []
    k = 1 << ((len(ids) - 1).bit_length() - 1)
    if index < k:
        return inclusion(ids[:k], index) + [mth(ids[k:])]
    return inclusion(ids[k:], index - k) + [mth(ids[:k])]


def consistency(m, ids, complete=True):
    """The RFC 6962 consistency proof from the first `m` of `ids` to all of them."""
    n = len(ids)
    if m == n:
        return [] if complete else [mth(ids)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return consistency(m, ids[:k], complete) + [mth(ids[k:])]
    return consistency(m - k, ids[k:], False) + [mth(ids[:k])]


EVENTS = GOLDEN["events"]
LEAVES = [bytes.fromhex(e["envelope_hex"]) + bytes.fromhex(e["signature_hex"]) for e in EVENTS]
IDS = [sha256(b"\x00" + leaf) for leaf in LEAVES]
PRODUCERS = [e["envelope"]["producer"] for e in EVENTS]


def subjects(names):
    s = bytes(32)
    for n in names:
        s = sha256(s + n.encode() + b"\n")
    return s


def checkpoint_text(size, time=TIME):
    return (
        f"{ORIGIN}\n{size}\n{b64(mth(IDS[:size]))}\n"
        f"time {time}\nsubjects {b64(subjects(PRODUCERS[:size]))}\n"
    )


def log_line(text):
    sig = key(LOG).sign(text.encode())
    return f"{EM_DASH} {LOG} {b64(key_id(LOG, 1, public(LOG)) + sig)}\n"


def cosignature_line(text, t):
    msg = f"cosignature/v1\ntime {t}\n{text}".encode()
    sig = struct.pack(">Q", t) + key(WITNESS).sign(msg)
    return f"{EM_DASH} {WITNESS} {b64(key_id(WITNESS, 4, public(WITNESS)) + sig)}\n"


def note(size, time=TIME, witnessed=False):
    text = checkpoint_text(size, time)
    out = text + "\n" + log_line(text)
    if witnessed:
        out += cosignature_line(text, time + 1)
    return out


def vkey(member):
    pub = public(member)
    return f"{member}+{key_id(member, 1, pub).hex()}+{b64(bytes([1]) + pub)}"


def timestamp(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def bundle_event(i):
    e = EVENTS[i]
    env = bytes.fromhex(e["envelope_hex"])
    return {
        "position": i + 1,
        "id": IDS[i].hex(),
        "appended_at": timestamp(TIME * 1000),
        "envelope": b64(env),
        "signature": b64(bytes.fromhex(e["signature_hex"])),
        "signer": e["vkey"],
        "member": PRODUCERS[i],
        "seq": e["envelope"]["seq"],
        "body": e["envelope"]["body"],
    }


def bundle(n, checkpoints, per_line=True):
    """The bundle of the first `n` golden events, laid out as `audit export`
    writes it (one event per line) or compact on one line."""
    head = {"format": "tallinn-audit-bundle/v1", "origin": ORIGIN, "size": n, "root": mth(IDS[:n]).hex()}
    events = [bundle_event(i) for i in range(n)]
    if not per_line:
        return compact({**head, "events": events, "checkpoints": checkpoints}) + "\n"
    out = compact(head)[:-1] + ',"events":[\n'
    out += ",\n".join(compact(e) for e in events) + ("\n" if events else "")
    return out + '],"checkpoints":' + compact(checkpoints) + "}\n"


def tlog_proof(index, size):
    lines = ["c2sp.org/tlog-proof@v1", f"extra {b64(LEAVES[index])}", f"index {index}"]
    lines += [b64(h) for h in inclusion(IDS[:size], index)]
    return "\n".join(lines) + "\n\n" + note(size, witnessed=True)


def merkle_binary(flags, a, b, hashes):
    """The binary layout of fuzz/src/ledger_checks.rs `proofs`."""
    return bytes([flags]) + struct.pack("<QQ", a, b) + b"".join(hashes)


def nats_message(server_ms, header, subject, payload, prefix="tallinn.tallinn-mechanism_example_ledger"):
    """The layout of fuzz/src/nats_checks.rs: server_ms, flags, prefix, subject, header, payload."""
    flags = 1 if header is not None else 0
    return (
        struct.pack("<q", server_ms)
        + bytes([flags])
        + f"{prefix}\n{subject}\n{header or ''}\n".encode()
        + payload
    )


def body_line(i):
    return compact(EVENTS[i]["envelope"]["body"]) + "\n"


def corpus():
    c = {}
    c["envelope"] = {f"golden-{i}-{EVENTS[i]['name']}": LEAVES[i] for i in (0, 1, 4, 6)}
    c["bundle"] = {
        "golden-7-per-line": bundle(7, [note(3, TIME - 60), note(7, witnessed=True)]),
        "golden-1-compact": bundle(1, [note(1)], per_line=False),
        "empty": bundle(0, []),
    }
    amended = {"amended": {"target": "EE-MFA/C-2024-003", "fields": {"quantity": 18, "date": "2024-06-01"}, "reason": "one batch smaller"}}
    cancelled = {"cancelled": {"target": "EE-MFA/C-2024-003", "scope": "remaining_balance", "reason": "budget cut"}}
    rotated = {"key_rotated": {"member": "DE-AA", "new_key": vkey("DE-AA")}}
    c["body_jsonl"] = {
        "need": body_line(2),
        "offer-commitment": body_line(3) + body_line(4),
        "delivery-receipt": body_line(5) + "\n" + body_line(6),
        "amended-cancelled": compact(amended) + "\n" + compact(cancelled) + "\n",
        "key-rotated": compact(rotated) + "\n",
    }
    c["note"] = {
        "checkpoint-7-cosigned": note(7, witnessed=True),
        "checkpoint-3": note(3, TIME - 60),
        "checkpoint-text": checkpoint_text(5),
        "witness-vkey": vkey(WITNESS) + "\n",
        "evidence": compact({
            "kind": "inconsistent_checkpoints",
            "log_key": vkey(LOG),
            "old_note": note(3, TIME - 60),
            "new_note": note(7),
            "proof": [],
            "reason": "",
        }),
    }
    c["proofs"] = {
        "tlog-proof-4-of-7": tlog_proof(4, 7),
        # flags: inclusion, small sizes, 7 tree leaves; a = index, b = size.
        "inclusion-4-of-7": merkle_binary(0b0001_1110, 4, 7, [IDS[4], mth(IDS)] + inclusion(IDS, 4)),
        "consistency-3-to-7": merkle_binary(0b0001_1111, 3, 7, [mth(IDS[:3]), mth(IDS)] + consistency(3, IDS)),
    }
    c["nats_entry"] = {
        "genesis": nats_message(TIME * 1000, str(TIME * 1000 - 5), "tallinn.tallinn-mechanism_example_ledger.events.TM-SECRETARIAT", LEAVES[0]),
        "offer-no-header": nats_message(TIME * 1000, None, "tallinn.tallinn-mechanism_example_ledger.events.EE-MFA", LEAVES[3]),
        "wrong-subject": nats_message(TIME * 1000, "0", "tallinn.tallinn-mechanism_example_ledger.events.DE-AA", LEAVES[5]),
    }
    return c


def main():
    for target, files in corpus().items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            if isinstance(data, str):
                data = data.encode()
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
