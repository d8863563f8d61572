#!/usr/bin/env python3
"""Independent check of a Tallinn audit bundle, with nothing but Python's hashlib.

    python3 schemas/audit_check.py BUNDLE.json [LOG_VKEY]

Checks what AUDIT.md describes: every event id, every Ed25519 signature under
the signer key the bundle states, the Merkle root of every checkpoint against
the events, the log signature of every checkpoint (under LOG_VKEY, default: the
genesis signer), and every cosignature/v1 line by a member key named in the membership bodies.
It is a development cross-check of the Rust auditor, not part of the test
suite. Its Ed25519 is the RFC 8032 reference verification (cofactorless, S < L)
without verify_strict's small-order checks, and it does not replay the rules.
"""
import base64, hashlib, json, sys

# --- Ed25519 verification (RFC 8032 section 5.1.7), extended coordinates.
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _x(y, sign):
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P or (x == 0 and sign):
        return None
    return P - x if x & 1 != sign else x


def _point(b):
    y = int.from_bytes(b, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _x(y, sign) if y < P else None
    return None if x is None else (x, y, 1, x * y % P)


def _add(a, b):
    (x1, y1, z1, t1), (x2, y2, z2, t2) = a, b
    A, B = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    C, E = t1 * 2 * D * t2 % P, z1 * 2 * z2 % P
    e, f, g, h = B - A, E - C, E + C, B + A
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s, pt):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, pt)
        pt, s = _add(pt, pt), s >> 1
    return q


def _enc(pt):
    x, y, z, _ = pt
    zi = pow(z, P - 2, P)
    return ((y * zi % P) | ((x * zi % P) & 1) << 255).to_bytes(32, "little")


_BY = 4 * pow(5, P - 2, P) % P
BASE = (_x(_BY, 0), _BY, 1, _x(_BY, 0) * _BY % P)


def ed25519_verify(pub, msg, sig):
    a, r, s = _point(pub), _point(sig[:32]), int.from_bytes(sig[32:], "little")
    if a is None or r is None or s >= L or len(sig) != 64:
        return False
    k = int.from_bytes(hashlib.sha512(sig[:32] + pub + msg).digest(), "little") % L
    minus_a = (P - a[0], a[1], a[2], P - a[3])
    return _enc(_add(_mul(s, BASE), _mul(k, minus_a))) == sig[:32]


# --- Keys, Merkle tree, notes.
def sha256(b):
    return hashlib.sha256(b).digest()


def vkey(text, key_type=1):
    """(name, public key, key id for key_type) of `name+keyid+base64(0x01||key)`."""
    name, kid, b64 = text.split("+", 2)
    raw = base64.b64decode(b64)
    assert raw[0] == 1 and len(raw) == 33 and kid == sha256(name.encode() + b"\n" + raw)[:4].hex()
    return name, raw[1:], sha256(name.encode() + b"\n" + bytes([key_type]) + raw[1:])[:4]


def mth(ids):
    if not ids:
        return sha256(b"")
    if len(ids) == 1:
        return ids[0]
    k = 1 << (len(ids) - 1).bit_length() - 1
    return sha256(b"\x01" + mth(ids[:k]) + mth(ids[k:]))


def main(path, log_vkey=None):
    b = json.load(open(path))
    problems, ids, signers = [], [], {}
    for e in b["events"]:
        env, sig = base64.b64decode(e["envelope"]), base64.b64decode(e["signature"])
        ids.append(sha256(b"\x00" + env + sig))
        if ids[-1].hex() != e["id"]:
            problems.append(f"#{e['position']}: id mismatch")
        if not e.get("signer"):
            problems.append(f"#{e['position']}: no signer key")
            continue
        name, pub, _ = vkey(e["signer"])
        signers[e["signer"]] = (name, pub)
        body = e.get("body") or {}  # member keys named in membership bodies (views)
        for m in body.get("genesis", {}).get("members", []) + [
            body.get("genesis", {}).get("coordinator"), body.get("member_admitted", {}).get("member")]:
            if m:
                signers[m["key"]] = vkey(m["key"])[:2]
        if "key_rotated" in body:
            signers[body["key_rotated"]["new_key"]] = vkey(body["key_rotated"]["new_key"])[:2]
        if not ed25519_verify(pub, b"tallinn-ledger/event/v1\n" + env, sig):
            problems.append(f"#{e['position']} {name}: bad signature")
    log_name, log_pub, log_id = vkey(log_vkey or b["events"][0]["signer"])
    for note in b["checkpoints"]:
        text, sigs = note.rsplit("\n\n", 1)
        text += "\n"
        origin, size, root = text.split("\n")[:3]
        size, cosigned = int(size), 0
        if mth(ids[:size]) != base64.b64decode(root):
            problems.append(f"checkpoint {size}: root mismatch")
        logged = False
        for line in sigs.strip("\n").split("\n"):
            name, raw = line[2:].split(" ")
            raw = base64.b64decode(raw)
            if name == log_name and raw[:4] == log_id:
                logged = ed25519_verify(log_pub, text.encode(), raw[4:])
            for n, pub in signers.values():
                if n == name and raw[:4] == sha256(n.encode() + b"\n\x04" + pub)[:4]:
                    t = int.from_bytes(raw[4:12], "big")
                    msg = f"cosignature/v1\ntime {t}\n{text}".encode()
                    cosigned += ed25519_verify(pub, msg, raw[12:])
        if not logged:
            problems.append(f"checkpoint {size}: no valid signature by {log_name}")
        print(f"checkpoint {size}: root checked, {cosigned} valid cosignature(s)")
    print(f"{len(ids)} events, root {mth(ids).hex()}")
    for p in problems:
        print("PROBLEM", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
