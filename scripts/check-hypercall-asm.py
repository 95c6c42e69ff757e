#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Check every hypercall site in an object file against the KVM ABI.

usage: check-hypercall-asm.py [-v] OBJECT...

OBJECT is selftests/abi/hypercall_sites.c (or hypercall_broken.c) compiled
for x86-64 or i386 at any optimization level. Its .pvhc_sites section says,
per site function, what each register must hold at the hypercall (see
selftests/abi/sites.h). This script disassembles OBJECT with objdump and runs
each site function through a small symbolic interpreter, so that a value is
followed wherever the compiler puts it -- through moves, stack slots (-O0
spills everything), push/pop, the i386 GOT pointer -- and checks:

  * the instruction is exactly 0f 01 c1 (VMCALL); VMMCALL appears nowhere;
  * nr is in EAX/RAX and p1..p4 in RBX, RCX, RDX, RSI (EBX.. in 32-bit
    code), each with the full expected value (a 64-bit constant not cut to
    32 bits, a parameter not swapped with another, a loaded value from the
    right address);
  * the function's result is the value the hypercall left in RAX;
  * for a site that asks for it, a store to a global happens before the
    hypercall, and the global is read again after it ("memory" clobber);
  * no hypercall outside a described site, and no described site without
    one.

The interpreter is deliberately pessimistic: whatever it cannot model
becomes an unknown value, which never equals an expected one, so a gap in
the model can make the check fail but never pass by accident.

Exit status: 0 all sites correct, 1 a site violates the ABI, 2 the object
cannot be checked (no descriptions, objdump failed, interpreter gave up).
With several objects, each report goes to OBJECT.check, stdout has one
"STATUS OBJECT" line per object, and the exit status is the worst one.
"""

import os
import re
import subprocess
import sys

VMCALL = "0f 01 c1"
VMMCALL = "0f 01 d9"


class CannotCheck(Exception):
    """The object or its code is outside what this checker understands."""


# ---- values -----------------------------------------------------------------
#
# Values are tuples, so they compare and hash structurally:
#   ("k", n)             a constant, already masked to its width
#   ("s", name)          an opaque value: "arg0" (a parameter), "init.rbx"
#                        (a register at entry), "result#1" (RAX after the
#                        first hypercall), "pc", "got", "unknown.17(why)"
#   ("z", v)             v's low 32 bits zero-extended (64-bit code only)
#   ("x", v)             v's low 32 bits sign-extended (64-bit code only)
#   ("p", base, off)     an address: base is "sp" (the stack pointer at
#                        entry), ("g", symbol) or any other value (a pointer
#                        parameter, a loaded pointer)
#   ("gotent", symbol)   the GOT slot holding symbol's address
#   ("m", addr, ver)     what memory at addr held at memory version ver
#                        (bumped by each hypercall and each store outside
#                        the stack frame), never written by this function;
#                        printed as [addr] or [addr]@vN

_unknowns = [0]


def unknown(why):
    _unknowns[0] += 1
    return ("s", "unknown.%d(%s)" % (_unknowns[0], why))


def is_unknown(v):
    return v[0] == "s" and v[1].startswith("unknown.")


def fmt(v):
    kind = v[0]
    if kind == "k":
        return "0x%x" % v[1]
    if kind == "s":
        return v[1]
    if kind == "z":
        return "zext32(%s)" % fmt(v[1])
    if kind == "x":
        return "sext32(%s)" % fmt(v[1])
    if kind == "p":
        base = v[1]
        if base == "sp":
            name = "entry_sp"
        elif base[0] == "g":
            name = base[1]
        else:
            name = fmt(base)
        return "&%s%+d" % (name, v[2]) if v[2] else "&" + name
    if kind == "gotent":
        return "GOT[%s]" % v[1]
    if kind == "m":
        where = fmt(v[1])
        where = where[1:] if where.startswith("&") else where
        return "[%s]" % where + ("@v%d" % v[2] if v[2] else "")
    return repr(v)


# ---- registers --------------------------------------------------------------

GPR64 = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp"] + \
    ["r%d" % i for i in range(8, 16)]


def _register_table():
    """AT&T register name -> (full register, width in bytes, byte offset)."""
    t = {}
    for r in ("ax", "bx", "cx", "dx"):
        full = "r" + r
        t["r" + r], t["e" + r], t[r] = (full, 8, 0), (full, 4, 0), (full, 2, 0)
        t[r[0] + "l"], t[r[0] + "h"] = (full, 1, 0), (full, 1, 1)
    for r in ("si", "di", "bp", "sp"):
        full = "r" + r
        t["r" + r], t["e" + r], t[r] = (full, 8, 0), (full, 4, 0), (full, 2, 0)
        t[r + "l"] = (full, 1, 0)
    for i in range(8, 16):
        full = "r%d" % i
        t[full], t[full + "d"] = (full, 8, 0), (full, 4, 0)
        t[full + "w"], t[full + "b"] = (full, 2, 0), (full, 1, 0)
    return t


REGS = _register_table()
SUFFIX_SIZE = {"b": 1, "w": 2, "l": 4, "q": 8}
SUFFIXED = ("mov", "add", "sub", "and", "or", "xor", "push", "pop", "xchg",
            "inc", "dec", "neg", "not", "shl", "shr", "sar", "test", "cmp")


def base_mnemonic(mn):
    """'movl' -> 'mov'; objdump adds a size suffix only when no register
    operand gives the size away."""
    if mn[:-1] in SUFFIXED and mn[-1] in SUFFIX_SIZE:
        return mn[:-1]
    return mn


# ---- objdump ----------------------------------------------------------------

class Insn:
    def __init__(self, addr, raw, text, relocs, end):
        self.addr = addr
        self.raw = raw            # "0f 01 c1"
        self.text = text          # "mov    %eax,-0x8(%ebp)"
        self.relocs = relocs      # [(offset, type, symbol, addend or None)]
        self.end = end            # address of the next instruction
        parts = text.split(None, 1)
        words = parts[0] if parts else ""
        rest = parts[1] if len(parts) > 1 else ""
        # Prefixes objdump prints as separate words.
        while words in ("rep", "repz", "repnz", "bnd", "notrack", "lock",
                        "data16", "cs", "ds") and rest:
            sub = rest.split(None, 1)
            words, rest = sub[0], sub[1] if len(sub) > 1 else ""
        self.mnem = words
        self.ops = split_operands(rest.strip())

    def __str__(self):
        return "%x: %s" % (self.addr, self.text)


def split_operands(s):
    ops, depth, cur = [], 0, ""
    for ch in s:
        if ch == "," and depth == 0:
            ops.append(cur.strip())
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur.strip():
        ops.append(cur.strip())
    return ops


RELOC_RE = re.compile(r"\s*([0-9a-f]+): (R_[0-9A-Z_]+)\s+(\S+)")
INSN_RE = re.compile(r"^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t?(.*)$")
FUNC_RE = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")


def run(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True,
                           env=dict(os.environ, LC_ALL="C"))
    except OSError as e:
        raise CannotCheck("%s: %s" % (cmd[0], e))
    if p.returncode != 0:
        raise CannotCheck("%s failed: %s" % (" ".join(cmd), p.stderr.strip()))
    return p.stdout


def parse_reloc_symbol(s, rela):
    """'g_in+0x14' -> ('g_in', 0x14); REL objects keep the addend in the
    instruction, so their symbol carries none."""
    m = re.match(r"^(.*?)([+-]0x[0-9a-f]+)?$", s)
    sym, add = m.group(1), m.group(2)
    if not rela:
        return sym, None
    return sym, int(add, 16) if add else 0


def disassemble(obj):
    """-> (bits, {function: [Insn]})"""
    out = run(["objdump", "-d", "-w", "-r", obj])
    m = re.search(r"file format (elf64-x86-64|elf32-i386)", out)
    if not m:
        raise CannotCheck("%s: not an x86-64 or i386 ELF object" % obj)
    bits = 64 if m.group(1) == "elf64-x86-64" else 32
    funcs, insns = {}, None
    for line in out.splitlines():
        fm = FUNC_RE.match(line)
        if fm:
            insns = funcs.setdefault(fm.group(2), [])
            continue
        if insns is None:
            continue
        rm = RELOC_RE.match(line)
        if rm and not INSN_RE.match(line) and insns:
            # A relocation on a line of its own belongs to the insn above.
            sym, add = parse_reloc_symbol(rm.group(3), bits == 64)
            insns[-1].relocs.append((int(rm.group(1), 16), rm.group(2), sym, add))
            continue
        im = INSN_RE.match(line)
        if not im:
            continue
        # -w keeps every insn's bytes on its one line.
        addr, raw, rest = int(im.group(1), 16), im.group(2).strip(), im.group(3)
        relocs = []
        for r in RELOC_RE.finditer(rest):
            sym, add = parse_reloc_symbol(r.group(3), bits == 64)
            relocs.append((int(r.group(1), 16), r.group(2), sym, add))
        text = RELOC_RE.split(rest)[0] if relocs else rest
        text = text.split("#")[0].strip()  # "# 1b6 <f+0x6>" comments
        insns.append(Insn(addr, raw, text, relocs, addr + len(raw.split())))
    return bits, funcs


def read_descriptions(obj):
    out = run(["objdump", "-s", "-j", ".pvhc_sites", obj])
    data = bytearray()
    for line in out.splitlines():
        m = re.match(r"^ [0-9a-f]{4,} ((?:[0-9a-f]{2,8} ){1,4})", line + " ")
        if m:
            data += bytes.fromhex(m.group(1).replace(" ", ""))
    text = data.replace(b"\0", b"").decode("ascii")
    sites = {}
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        fields = {}
        for w in words[1:]:
            key, _, val = w.partition("=")
            fields[key] = val
        sites[words[0]] = fields
    if not sites:
        raise CannotCheck("%s: no .pvhc_sites descriptions" % obj)
    return sites


# ---- the interpreter --------------------------------------------------------

class Machine:
    """Straight-line x86 code, symbolically."""

    def __init__(self, bits, func):
        self.bits = bits
        self.W = bits // 8
        self.mask = (1 << bits) - 1
        self.func = func
        self.regs = {r: ("s", "init." + r) for r in GPR64}
        self.regs["rsp"] = ("p", "sp", 0)
        if bits == 64:
            for i, r in enumerate(("rdi", "rsi", "rdx", "rcx", "r8", "r9")):
                self.regs[r] = ("s", "arg%d" % i)
        self.mem = {}          # (addr, size) -> value
        self.version = 0       # bumped by hypercalls and non-stack stores
        # Per hypercall: (Insn, {reg: value}, memory, memory version).
        self.hypercalls = []

    # -- value helpers --
    def z32(self, v):
        if v[0] == "k":
            return ("k", v[1] & 0xffffffff)
        if self.bits == 32 or v[0] == "z":
            return v
        return ("z", v)

    def narrow(self, v, size):
        """v seen through a size-byte register or memory access."""
        if size >= self.W:
            return v
        if size == 4:
            return self.z32(v)
        if v[0] == "k":
            return ("k", v[1] & ((1 << (8 * size)) - 1))
        return unknown("partial")

    # -- registers --
    def reg_get(self, name):
        full, size, off = REGS[name]
        v = self.regs[full]
        if off:                    # %ah & co.
            return ("k", (v[1] >> 8) & 0xff) if v[0] == "k" else unknown(name)
        return self.narrow(v, size)

    def reg_set(self, name, v):
        full, size, off = REGS[name]
        if size >= self.W:
            self.regs[full] = v
        elif size == 4:            # 32-bit writes zero-extend (64-bit code)
            self.regs[full] = self.z32(v)
        else:                      # 8/16-bit writes merge
            old = self.regs[full]
            if old[0] == "k" and v[0] == "k" and not off:
                m = (1 << (8 * size)) - 1
                self.regs[full] = ("k", (old[1] & ~m & self.mask) | (v[1] & m))
            else:
                self.regs[full] = unknown("merged " + name)

    # -- memory --
    def load(self, addr, size):
        if addr[0] == "gotent":
            return ("p", ("g", addr[1]), 0) if size == self.W else unknown("got")
        if is_unknown(addr):
            return unknown("load via unknown address")
        v = self.mem.get((addr, size))
        if v is not None:
            return v
        if size < self.W and (addr, self.W) in self.mem:
            return self.narrow(self.mem[(addr, self.W)], size)
        for (a, s) in self.mem:
            if self.overlaps(a, s, addr, size):
                return unknown("partial overlap")
        if addr[0] == "p" and addr[1] == "sp":
            off = addr[2]
            if self.bits == 32 and off >= 4 and off % 4 == 0 and size == 4:
                return ("s", "arg%d" % ((off - 4) // 4))
            return unknown("uninitialized stack %+d" % off)
        return self.narrow(("m", addr, self.version), size)

    @staticmethod
    def overlaps(a, s, b, t):
        if a[0] != "p" or b[0] != "p" or a[1] != b[1]:
            return False
        return a[2] < b[2] + t and b[2] < a[2] + s

    def store(self, addr, size, v):
        if is_unknown(addr) or addr[0] == "gotent":
            self.mem.clear()   # could be anywhere
            self.version += 1
            return
        for key in list(self.mem):
            if key == (addr, size) or self.overlaps(key[0], key[1], addr, size):
                del self.mem[key]
        if not (addr[0] == "p" and addr[1] == "sp"):
            # Memory outside the frame may alias any other non-stack memory.
            for key in list(self.mem):
                if not (key[0][0] == "p" and key[0][1] == "sp"):
                    del self.mem[key]
            self.version += 1
        self.mem[(addr, size)] = self.narrow(v, size) if size < self.W else v

    # -- operands --
    def reloc_for(self, insn, field):
        """The relocation patching the immediate ("imm") or the memory
        displacement ("disp") of insn. An immediate is always last in the
        encoding; a displacement is never last when an immediate follows."""
        has_imm = any(o.startswith("$") for o in insn.ops)
        imm_size = 8 if insn.mnem == "movabs" else 4
        for r in insn.relocs:
            is_imm = has_imm and r[0] + imm_size == insn.end
            if (field == "imm") == is_imm:
                return r
        return None

    def imm(self, insn, op):
        n = int(op[1:], 16) if not op[1:].startswith("-") else -int(op[2:], 16)
        r = self.reloc_for(insn, "imm")
        if r is not None:
            off, rtype, sym, add = r
            if rtype in ("R_386_GOTPC", "R_X86_64_GOTPC32"):
                return ("s", "got")
            if rtype in ("R_386_32", "R_X86_64_32", "R_X86_64_32S", "R_X86_64_64"):
                return ("p", ("g", sym), add if add is not None else n)
            return unknown("immediate with " + rtype)
        return ("k", n & self.mask)

    MEM_RE = re.compile(r"^(?:%(\w+):)?(-?0x[0-9a-f]+|-?\d+)?"
                        r"(?:\((%\w+)?(?:,(%\w+)(?:,(\d))?)?\))?$")

    def address(self, insn, op):
        m = self.MEM_RE.match(op)
        if not m:
            raise CannotCheck("%s: cannot parse operand %r in %s"
                              % (self.func, op, insn))
        seg, disp, base, index, scale = m.groups()
        disp = int(disp, 16) if disp and "x" in disp else int(disp or 0)
        if seg:
            return unknown("%" + seg + " segment")
        r = self.reloc_for(insn, "disp")
        if r is not None:
            roff, rtype, sym, add = r
            if rtype in ("R_X86_64_PC32", "R_X86_64_PLT32") and base == "%rip":
                # RIP-relative: S + A - P + (address after the insn)
                return ("p", ("g", sym), add + insn.end - roff)
            if rtype in ("R_X86_64_GOTPCREL", "R_X86_64_GOTPCRELX",
                         "R_X86_64_REX_GOTPCRELX") and base == "%rip":
                return ("gotent", sym)
            if rtype == "R_386_GOTOFF" and not index and \
                    self.reg_get(base[1:]) == ("s", "got"):
                return ("p", ("g", sym), disp)
            if rtype in ("R_386_GOT32", "R_386_GOT32X") and not index and \
                    self.reg_get(base[1:]) == ("s", "got"):
                return ("gotent", sym)
            if rtype in ("R_386_32", "R_X86_64_32", "R_X86_64_32S") and \
                    not base and not index:
                return ("p", ("g", sym), add if add is not None else disp)
            return unknown("address with " + rtype)
        if base == "%rip" or base == "%eip":
            return unknown("rip-relative without relocation")
        if not base:
            return unknown("absolute address")
        b = self.reg_get(base[1:])
        extra = 0
        if index:
            i = self.reg_get(index[1:])
            if i[0] != "k":
                return unknown("indexed address")
            extra = i[1] * int(scale or 1)
        if b[0] == "k" or is_unknown(b):
            return unknown("address from " + fmt(b))
        if b[0] == "p":
            return ("p", b[1], b[2] + disp + extra)
        return ("p", b, disp + extra)

    def size_of(self, insn, ops, default=None):
        for o in ops:
            if o.startswith("%") and o[1:] in REGS:
                return REGS[o[1:]][1]
        if base_mnemonic(insn.mnem) != insn.mnem:
            return SUFFIX_SIZE[insn.mnem[-1]]
        return default if default is not None else self.W

    def read(self, insn, op, size):
        if op.startswith("$"):
            return self.imm(insn, op)
        if op.startswith("%") and op[1:] in REGS:
            return self.reg_get(op[1:])
        return self.load(self.address(insn, op), size)

    def write(self, insn, op, size, v):
        if op.startswith("%") and op[1:] in REGS:
            self.reg_set(op[1:], v)
        elif op.startswith("$"):
            raise CannotCheck("%s: immediate destination in %s" % (self.func, insn))
        else:
            self.store(self.address(insn, op), size, v)

    def push(self, v):
        sp = self.regs["rsp"]
        if sp[0] != "p":
            raise CannotCheck("%s: lost the stack pointer" % self.func)
        sp = ("p", sp[1], sp[2] - self.W)
        self.regs["rsp"] = sp
        self.store(sp, self.W, v)

    def pop(self):
        sp = self.regs["rsp"]
        if sp[0] != "p":
            raise CannotCheck("%s: lost the stack pointer" % self.func)
        v = self.load(sp, self.W)
        self.regs["rsp"] = ("p", sp[1], sp[2] + self.W)
        return v

    def clobber_all(self, why):
        for r in ("rax", "rcx", "rdx", "rsi", "rdi"):
            self.regs[r] = unknown(why)
        self.mem.clear()
        self.version += 1

    # -- instructions --
    def step(self, insn):
        """Execute one instruction; True when the function returned."""
        mn, ops = insn.mnem, insn.ops
        base = base_mnemonic(mn)

        if insn.raw == VMCALL or insn.raw == VMMCALL or \
                mn in ("vmcall", "vmmcall"):
            self.hypercall(insn)
            return False
        if mn in ("ret", "retl", "retq"):
            return True
        if mn.startswith("nop") or mn.startswith("endbr") or \
                base in ("test", "cmp"):
            return False           # no effect but on the flags
        if mn in ("jmp",) or (mn.startswith("j") and mn != "j"):
            raise CannotCheck("%s: branch at %s; sites must be straight-line"
                              % (self.func, insn))
        if mn.startswith("call"):
            return self.call(insn)

        if base in ("mov", "movabs") and len(ops) == 2:
            size = self.size_of(insn, ops)
            self.write(insn, ops[1], size, self.read(insn, ops[0], size))
        elif mn in ("movzbl", "movzwl", "movzbw", "movzbq", "movzwq",
                    "movsbl", "movswl", "movsbw", "movsbq", "movswq",
                    "movslq", "movsxd") and len(ops) == 2:
            src_size = {"b": 1, "w": 2, "l": 4}[mn[4]] if mn != "movsxd" else 4
            v = self.read(insn, ops[0], src_size)
            if mn in ("movslq", "movsxd"):
                if v[0] == "k":
                    n = v[1] & 0xffffffff
                    v = ("k", (n - (1 << 32) if n & 0x80000000 else n) & self.mask)
                else:
                    v = ("x", v[1] if v[0] == "z" else v)
            elif mn.startswith("movs") and v[0] != "k":
                v = unknown(mn)
            elif mn.startswith("movs"):
                bits = 8 * src_size
                n = v[1] & ((1 << bits) - 1)
                v = ("k", (n - (1 << bits) if n >> (bits - 1) else n) & self.mask)
            # movz*: the narrowed value is already zero-extended
            self.write(insn, ops[1], REGS[ops[1][1:]][1], v)
        elif mn.startswith("lea") and len(ops) == 2:
            a = self.address(insn, ops[0])
            self.write(insn, ops[1], REGS[ops[1][1:]][1],
                       a if a[0] == "p" else unknown("lea"))
        elif base == "push" and len(ops) == 1:
            self.push(self.read(insn, ops[0], self.W))
        elif base == "pop" and len(ops) == 1:
            self.write(insn, ops[0], self.W, self.pop())
        elif mn in ("leave", "leavel", "leaveq"):
            self.regs["rsp"] = self.regs["rbp"]
            self.regs["rbp"] = self.pop()
        elif base == "xchg" and len(ops) == 2:
            size = self.size_of(insn, ops)
            a, b = self.read(insn, ops[0], size), self.read(insn, ops[1], size)
            self.write(insn, ops[0], size, b)
            self.write(insn, ops[1], size, a)
        elif base in ("add", "sub", "and", "or", "xor") and len(ops) == 2:
            self.alu(insn, base, ops)
        elif base in ("inc", "dec", "neg", "not") and len(ops) == 1:
            # clang -Os loads -1 as "xor %ecx,%ecx; dec %ecx".
            size = self.size_of(insn, ops)
            v = self.read(insn, ops[0], size)
            if v[0] == "k":
                n = {"inc": v[1] + 1, "dec": v[1] - 1, "neg": -v[1],
                     "not": ~v[1]}[base]
                v = ("k", n & ((1 << (8 * size)) - 1))
            else:
                v = unknown(base)
            self.write(insn, ops[0], size, v)
        elif base in ("shl", "shr", "sar") and len(ops) == 2 and \
                ops[0].startswith("$"):
            size = self.size_of(insn, ops)
            k, v = self.imm(insn, ops[0]), self.read(insn, ops[1], size)
            bits = 8 * size
            if v[0] == "k" and k[0] == "k":
                n = v[1]
                if base == "sar" and n >> (bits - 1):
                    n -= 1 << bits
                n = n << k[1] if base == "shl" else n >> k[1]
                v = ("k", n & ((1 << bits) - 1))
            else:
                v = unknown(base)
            self.write(insn, ops[1], size, v)
        elif mn in ("cltq", "cdqe"):
            self.regs["rax"] = ("x", self.regs["rax"]) if self.bits == 64 \
                else self.regs["rax"]
        elif mn in ("cltd", "cqto", "cdq", "cqo", "cwtd"):
            self.regs["rdx"] = unknown(mn)
        elif ops and (ops[-1].startswith("%") or "(" in ops[-1]):
            # Not modelled: its destination becomes unknown, and in case it
            # has implicit outputs too, so do the usual ones and memory.
            self.write(insn, ops[-1], self.size_of(insn, ops), unknown(mn))
            self.clobber_all(mn)
        else:
            raise CannotCheck("%s: cannot model %s" % (self.func, insn))
        return False

    def alu(self, insn, op, ops):
        size = self.size_of(insn, ops)
        src, dst = ops
        if op in ("xor", "sub") and src == dst and src.startswith("%"):
            self.write(insn, dst, size, ("k", 0))
            return
        a, b = self.read(insn, src, size), self.read(insn, dst, size)
        if a == ("s", "got"):     # add $_GLOBAL_OFFSET_TABLE_, %reg
            self.write(insn, dst, size, a)
            return
        ones = (1 << (8 * size)) - 1
        if a[0] == "k" and op == "or" and a[1] & ones == ones:
            v = ("k", ones)       # or $-1: gcc -Os loads all-ones this way
        elif a[0] == "k" and op == "and" and a[1] & ones == 0:
            v = ("k", 0)
        elif a[0] == "k" and b[0] == "k":
            n = {"add": b[1] + a[1], "sub": b[1] - a[1], "and": b[1] & a[1],
                 "or": b[1] | a[1], "xor": b[1] ^ a[1]}[op]
            v = ("k", n & ((1 << (8 * size)) - 1))
        elif a[0] == "k" and op in ("add", "sub") and size == self.W and \
                not is_unknown(b):
            # Pointer arithmetic (-O0 computes &v[3] as v + 24): keep the
            # sum symbolic as base + offset, the form addresses have.
            k = a[1] if a[1] < (1 << (self.bits - 1)) else a[1] - (1 << self.bits)
            k = k if op == "add" else -k
            v = ("p", b[1], b[2] + k) if b[0] == "p" else ("p", b, k)
        else:
            v = unknown(op)
        self.write(insn, dst, size, v)

    def call(self, insn):
        target = insn.ops[0].split()[0] if insn.ops else ""
        for r in insn.relocs:
            m = re.match(r"^__x86\.get_pc_thunk\.(\w\w)$", r[2])
            if m:   # i386 PIC: the thunk loads the return address into reg
                self.regs["r" + m.group(1)] = ("s", "pc")
                return False
        if not insn.relocs and re.match(r"^[0-9a-f]+$", target) and \
                int(target, 16) == insn.end:
            # i386 PIC, clang's way: call the next insn, pop the address.
            self.push(("s", "pc"))
            return False
        raise CannotCheck("%s: call at %s; sites must not call anything"
                          % (self.func, insn))

    def hypercall(self, insn):
        regs = {r: self.regs[r] for r in ("rax", "rbx", "rcx", "rdx", "rsi")}
        self.hypercalls.append((insn, regs, dict(self.mem), self.version))
        # KVM's ABI: only RAX changes; the guest's memory may change. Each
        # hypercall's result is its own value, so that returning the first
        # of two results is not mistaken for returning the second.
        self.regs["rax"] = self.result()
        for key in list(self.mem):
            if not (key[0][0] == "p" and key[0][1] == "sp"):
                del self.mem[key]
        self.version += 1

    def result(self):
        """The value the latest hypercall left in RAX."""
        return ("s", "result#%d" % len(self.hypercalls))

    def run(self, insns):
        for insn in insns:
            if self.step(insn):
                return insn
        raise CannotCheck("%s: ran off the end without a ret" % self.func)


# ---- checking one site ------------------------------------------------------

def reg_names(bits):
    if bits == 64:
        return {"rax": "RAX", "rbx": "RBX", "rcx": "RCX", "rdx": "RDX",
                "rsi": "RSI"}
    return {"rax": "EAX", "rbx": "EBX", "rcx": "ECX", "rdx": "EDX",
            "rsi": "ESI"}


def expected_value(text, bits, version=0):
    """A description's V -> the value the interpreter must find."""
    W = bits // 8
    mask = (1 << bits) - 1
    u32 = text.endswith(".u32")
    if u32:
        text = text[:-4]
    m = re.match(r"^(0x[0-9a-fA-F]+|\d+)[uUlL]*$", text)
    if m:
        v = ("k", int(m.group(1), 0) & mask)
    elif re.match(r"^arg\d+$", text):
        v = ("s", text)
    else:
        m = re.match(r"^(arg\d+|\w+)\[(\d+)\]$", text)
        if not m:
            raise CannotCheck("bad value %r in a site description" % text)
        base = ("s", m.group(1)) if re.match(r"^arg\d+$", m.group(1)) \
            else ("g", m.group(1))
        v = ("m", ("p", base, int(m.group(2)) * W), version)
    if u32 and bits == 64:
        v = ("k", v[1] & 0xffffffff) if v[0] == "k" else ("z", v)
    return v


def explain(found, want, regs_at_call, names):
    """Why found != want, in words a reader of the failure can act on."""
    hints = []
    if want[0] == "k" and found[0] == "k" and want[1] > 0xffffffff and \
            found[1] == want[1] & 0xffffffff:
        hints.append("truncated to 32 bits")
    if want[0] not in ("k", "z") and found == ("z", want):
        hints.append("truncated to 32 bits")
    elsewhere = [names[r] for r, v in sorted(regs_at_call.items()) if v == want]
    if elsewhere:
        hints.append("the expected value is in " + ", ".join(elsewhere))
    return " (%s)" % "; ".join(hints) if hints else ""


def check_site(bits, name, desc, insns, problems, verbose):
    names = reg_names(bits)
    m = Machine(bits, name)
    ret_insn = m.run(insns)
    count = int(desc.get("count", "1"))
    if len(m.hypercalls) != count:
        problems.append("%s: %d hypercall instructions, must be %d (a "
                        "hypercall merged or dropped: missing __volatile__?)"
                        % (name, len(m.hypercalls), count))
        if not m.hypercalls:
            return
    order = [("nr", "rax"), ("p1", "rbx"), ("p2", "rcx"), ("p3", "rdx"),
             ("p4", "rsi")]
    for insn, regs, mem, version in m.hypercalls:
        where = "%s+0x%x" % (name, insn.addr - insns[0].addr)
        if insn.raw != VMCALL:
            what = "VMMCALL" if insn.raw == VMMCALL else "not VMCALL"
            problems.append("%s: hypercall bytes are %s (%s), must be %s"
                            % (where, insn.raw, what, VMCALL))
        for arg, reg in order:
            if arg not in desc:
                continue
            want = expected_value(desc[arg], bits)
            found = regs[reg]
            if found != want:
                problems.append("%s: %s must be in %s: expected %s, found %s%s"
                                % (where, arg, names[reg], fmt(want),
                                   fmt(found), explain(found, want, regs, names)))
            elif verbose:
                print("  %s: %s in %s = %s" % (where, arg, names[reg], fmt(found)))
        if "before" in desc:
            sym, _, val = desc["before"].partition(":")
            slot = (("p", ("g", sym), 0), bits // 8)
            want = expected_value(val, bits)
            if mem.get(slot) != want:
                problems.append("%s: the store of %s to %s is not before the "
                                "hypercall (missing \"memory\" clobber?)"
                                % (where, fmt(want), sym))
    last_version = m.hypercalls[-1][3] + 1
    result = m.result()
    ret = m.regs["rax"]
    want_ret = desc.get("ret", "result")
    if want_ret == "result":
        if ret != result:
            problems.append("%s: returns %s, not the hypercall's result from %s"
                            % (name, fmt(ret), names["rax"]))
    elif re.match(r"^[A-Za-z_]\w*$", want_ret) and \
            not re.match(r"^arg\d+$", want_ret):
        addr = ("p", ("g", want_ret), 0)
        if not (ret[0] == "m" and ret[1] == addr and ret[2] >= last_version):
            problems.append("%s: returns %s, not %s re-read after the hypercall "
                            "(missing \"memory\" clobber?)"
                            % (name, fmt(ret), want_ret))
    elif ret != expected_value(want_ret, bits):
        problems.append("%s: returns %s, expected %s"
                        % (name, fmt(ret), fmt(expected_value(want_ret, bits))))
    if "sink" in desc:
        v = m.mem.get((("p", ("g", desc["sink"]), 0), bits // 8))
        if v != result:
            problems.append("%s: %s is not the hypercall's result from %s "
                            "(stored: %s)" % (name, desc["sink"], names["rax"],
                                              fmt(v) if v else "nothing"))
    # Self-checks of the interpreter: a mistake in the model must not pass
    # silently, so the frame must balance and callee-saved registers return.
    if m.regs["rsp"] != ("p", "sp", 0):
        raise CannotCheck("%s: stack pointer at ret is %s (interpreter lost "
                          "track)" % (name, fmt(m.regs["rsp"])))
    saved = ("rbx", "rbp", "r12", "r13", "r14", "r15") if bits == 64 else \
        ("rbx", "rbp", "rsi", "rdi")
    for r in saved:
        if m.regs[r] != ("s", "init." + r):
            raise CannotCheck("%s: callee-saved %s is %s at %s (interpreter "
                              "lost track)" % (name, r, fmt(m.regs[r]), ret_insn))


def check_object(obj, verbose):
    """Print the report for one object; return its exit status."""
    problems = []
    try:
        bits, funcs = disassemble(obj)
        sites = read_descriptions(obj)
        for fn, insns in sorted(funcs.items()):
            for insn in insns:
                if insn.raw == VMMCALL or insn.mnem == "vmmcall":
                    problems.append("%s: VMMCALL (%s) at %s; guests must "
                                    "only emit VMCALL" % (fn, insn.raw, insn))
            has_hc = any(i.raw in (VMCALL, VMMCALL) or
                         i.mnem in ("vmcall", "vmmcall") for i in insns)
            if has_hc and fn not in sites:
                problems.append("%s: hypercall in a function without a site "
                                "description: unchecked" % fn)
        checked = 0
        for name in sorted(sites):
            if name not in funcs:
                problems.append("%s: described, but not in the object" % name)
                continue
            check_site(bits, name, sites[name], funcs[name], problems, verbose)
            checked += 1
    except CannotCheck as e:
        print("cannot check: %s" % e)
        return 2
    for p in problems:
        print(p)
    print("%s: %d-bit, %d sites, %s" % (obj, bits, checked,
                                        "%d problems" % len(problems)
                                        if problems else "all correct"))
    return 1 if problems else 0


def main(argv):
    verbose = "-v" in argv
    objs = [a for a in argv[1:] if a != "-v"]
    if not objs:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    if len(objs) == 1:
        return check_object(objs[0], verbose)
    # Several objects (one interpreter start instead of many): each report
    # goes to OBJECT.check, and stdout gets "STATUS OBJECT" per object.
    worst = 0
    for obj in objs:
        saved = sys.stdout
        with open(obj + ".check", "w") as f:
            sys.stdout = f
            try:
                rc = check_object(obj, verbose)
            finally:
                sys.stdout = saved
        print("%d %s" % (rc, obj))
        worst = max(worst, rc)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv))
