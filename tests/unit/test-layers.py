#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The rooms' dependency rules (HACKING.md, Layout), checked on every file under src/.

For each .c and .h file it reads the #include lines and the string literals (comments are
stripped first, so a comment may name any path) and checks them against the tables below:
which rooms a room may include, which rooms or files may include libpci, libudev, libvirt and
libxml2, which file may spell a host path ("sys/...", "/dev/...") or name a library it loads at
run time (libnvidia-ml.so.1 only in host/nvml.c), that the library never prints or exits, that
no file is over 800 lines and that no function is over 80 lines unless a comment in it (or just
above it) says "long:" and why.

Every table entry has its reason beside it. EXCEPTIONS lists today's known breaches, each with
why it is there and who removes it; an exception that no longer matches anything is itself an
error, so the list can only shrink.

  test-layers.py SRCDIR           check the tree (exit 1 and one line per violation)
  test-layers.py --self-test DIR  plant one violation of each rule in a scratch tree under
                                  DIR and check that every one is reported
"""
import os
import re
import shutil
import sys

# ---- the rooms ----------------------------------------------------------------------------
# room -> the rooms its files may include (a room may always include itself).
RULES = {
    # knows nothing of PCI, the host or the context: arrays, strings, line records
    'shared': set(),
    # the context and its log
    'base': {'shared'},
    # the only rooms that touch the host: paths under the root, the kernel writer, /proc,
    # libpci, libudev
    'host': {'base', 'shared'},
    # the scan and what it builds
    'model': {'host', 'base', 'shared'},
    # pure rules over the model: no host, no I/O, no log (model headers only)
    'policy': {'model', 'shared'},
    # the generic transaction: knows no PCI, so neither the model nor the kinds
    'txn': {'host', 'base', 'shared'},
    # one room per kind of state a command changes
    'kinds': {'txn', 'model', 'policy', 'host', 'conf', 'base', 'shared'},
    # the host lock and refusals: facts, not plans
    'guard': {'host', 'model', 'base', 'shared'},
    # persistent desired state (partitions.conf)
    'conf': {'host', 'model', 'base', 'shared'},
    # one builder per command; never prints
    'ops': {'kinds', 'guard', 'conf', 'policy', 'txn', 'model', 'base', 'shared'},
    # libvirt's qemu hook: never the libvirt connection (virt/ itself is not allowed whole)
    'hook': {'ops', 'kinds', 'conf', 'txn', 'policy', 'model', 'base', 'shared'},
    # libvirt, loaded at run time; domain XML through host/xml.h (libxml2 is one host file,
    # shared with the vGPU manager's vgpuConfig.xml reader in model/)
    'virt': {'host', 'base', 'shared'},
    # the command line: the public headers, its own (see CLI_OWN), and shared/ (helpers that
    # know nothing of PCI or the host: one array push for the library and the tool)
    'cli': {'shared'},
}

# Public headers (include/gpupart/NAME.h) and the room whose API each one is.
PUBLIC = {
    'gpupart.h': 'base',    # the context and its log
    'model.h': 'model',     # the host model
    'policy.h': 'policy',   # statuses, backends, findings, views
    'layout.h': 'conf',     # partitions.conf
    'dismounted.h': 'conf', # dismounted.conf (DDA)
    'resv.h': 'conf',       # reservation records (run/gpupart/reservations)
    'assign.h': 'policy',   # the partition picker (assign)
    'cluster.h': 'policy',  # homogeneity across hosts (cluster check)
    'migrate.h': 'policy',  # live-migration preflight (migrate-check)
    'cluster-ops.h': 'ops', # cluster check's facts: this host's scan, libvirt's node devices
    'adapters.h': 'ops',    # assign, unassign, adapters as operations
    'step.h': 'txn',       # steps and plans, the journal's public face (no PCI)
    'plan.h': 'kinds',      # the gpu kind's states and plans (and, today, six more concerns)
    'kernel.h': 'host',     # the kernel ops a test may replace
    'capture.h': 'host',    # host capture tarballs
    'virt.h': 'virt',       # what libvirt says
    'ops.h': 'ops',         # commands as library operations (set-count, apply)
    'attach.h': 'ops',      # attach and detach as operations (DDA)
    'hook.h': 'hook',       # libvirt's qemu hook as operations
}

# System headers only some rooms may include.
LIBS = [
    # (pattern of the <...> name, the rooms (or files under src/) allowed, why)
    (r'pci/', {'host'}, 'libpci: one room decodes config space'),
    (r'libudev\.h$', {'host'}, 'libudev: one room asks hwdb'),
    (r'libvirt/', {'virt'}, 'libvirt: one room, loaded at run time'),
    (r'libxml/', {'lib/host/xml.c'},
     'libxml2: one file, loaded at run time, for both readers (virt/, model/vgpuconfig.c)'),
    (r'json-c/', {'cli'}, 'JSON is rendering: the library returns values'),
]

# Libraries loaded at run time (dlopen), by soname: each is loaded by one file alone.
SONAMES = [
    # (pattern of the literal, the file allowed, why)
    (r'libnvidia-ml', 'lib/host/nvml.c',
     'NVML: one file loads it, at run time, only on the live root (or the test switch '
     'GPUPART_TEST_NVML), in a child bounded in time'),
    (r'libvirt\.so', 'lib/virt/virt.c', 'libvirt: loaded by virt.c, in its bounded child'),
    (r'libxml2\.so', 'lib/host/xml.c', 'libxml2: loaded by host/xml.c on first use'),
]

# Host path literals: only this file spells them; everything else names a gp_hostpath.
HOSTFS = 'lib/host/hostfs.c'
HOST_PATH = re.compile(r'(?:^|[^A-Za-z0-9_.-])(sys|proc|dev|run|etc|usr)/')

# The library returns -errno and logs through the context: it never prints or exits.
PRINTS = re.compile(r'\b(printf|puts|putchar|perror|exit|abort)\s*\(|'
                    r'\bf(printf|puts|putc|write)\s*\([^;]*\b(stdout|stderr)\b')

MAX_FILE_LINES = 800
MAX_FUNC_LINES = 80
LONG_MARK = re.compile(r'\blong:')

# Known breaches: (file under src/, kind, what, why). kind is 'include' (what: the header as
# written), 'path' or 'soname' (what: the literal), 'prints', 'file-lines' or 'func-lines' (what: the
# function's name). The lead trims this list as the rooms settle; helpers A (txn/, kinds/) and
# B (ops/, cli/partition.c) remove their entries as they convert.
EXCEPTIONS = [
    # -- guard/: its declarations live in plan.h (plan.h's seven concerns, design note 5) --
    ('lib/guard/guard.c', 'include', '<gpupart/plan.h>', 'gp_lock_*/gp_guard_* are declared there'),
    ('lib/guard/guard.c', 'path', '/dev/vfio/devices/%s',
     'an iommufd cdev node name, matched against /proc fd links (never opened)'),
    ('lib/guard/guard.c', 'path', '/dev/vfio/', 'the group node prefix matched in fd links'),
    ('lib/guard/guard.c', 'path', '/dev/nvidia', 'the NVIDIA node prefix matched in fd links'),
    # -- model/: node names matched against /proc fd links, never opened --
    ('lib/model/scan-host.c', 'path', '/dev/dri/%s', 'a DRM node name matched in fd links'),
    ('lib/model/scan-host.c', 'path', '/dev/nvidia%d', 'the NVIDIA node matched in fd links'),
    # -- host/ --
    ('lib/host/procfd.c', 'path', '/proc/%d/stat',
     'our own processes on the live /proc, never under --root: not a place under the root'),
    ('lib/host/kernel.c', 'path', '/dev/null',
     'stdin of a host program and of the write child: the live host\'s, never under --root'),
    # -- cli/: the process's own standard streams, never a place under --root --
    ('cli/main.c', 'path', '/dev/null',
     'a closed stdin, stdout or stderr reopened on it before anything else is opened'),
    ('cli/cmd-hook.c', 'path', '/dev/null',
     'the hook\'s stdout: libvirt reads it as replacement XML (migrate, restore)'),
    ('lib/host/kernel.c', 'path', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
     'the environment of a host program (sriov-manage) run on the live host'),
    ('lib/host/pciacc.c', 'prints', 'abort();',
     'libpci\'s error handler may not return: abort loudly rather than exit(1) (its comment)'),
    ('lib/host/pciacc.h', 'include', '<gpupart/model.h>',
     'libpci decodes config space into the model\'s gp_config_facts: a struct of the model'),
    ('lib/host/capture.c', 'include', '<gpupart/model.h>', 'a capture names devices by gp_pci_addr'),
    # -- base/: the bounded child that asks libvirt and NVML --
    ('lib/base/child.c', 'path', '/dev/null',
     'the child\'s stdin/stdout on the live host, never under --root'),
    # -- virt/: the child that asks libvirt --
    ('lib/virt/virt.c', 'path', '4:file:/dev/null', 'libvirt\'s log outputs in the child: none'),
    # -- cli/: paths named for people, under --root (gp_cli_path); helpers B and D --
    ('cli/out-plan.c', 'path', '/etc/gpupart/partitions.conf',
     'apply\'s "no layout recorded" line: ask conf for it (gp_layout_file_path)'),
    ('cli/main.c', 'func-lines', 'parse_argv', 'helper D: the verb table splits it'),
]

# A CLI file may include its own headers: quoted, no room, a file in src/cli.


# ---- reading C ----------------------------------------------------------------------------
def strip_comments(text):
    """The text with comments blanked (newlines kept) and the string literals found:
    (blanked text, [(line, literal)])."""
    out, lits = [], []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            chunk = text[i:j]
            out.append(re.sub(r'[^\n]', ' ', chunk))
            line += chunk.count('\n')
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            lit = text[i + 1:j]
            if c == '"':
                lits.append((line, lit))
            out.append(text[i:j + 1])
            i = j + 1
        else:
            if c == '\n':
                line += 1
            out.append(c)
            i += 1
    return ''.join(out), lits


INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def room_of(rel):
    """The room of a file under src/: 'shared', 'cli' or the room under lib/."""
    parts = rel.split('/')
    if parts[0] == 'shared':
        return 'shared'
    if parts[0] == 'cli':
        return 'cli'
    if parts[0] == 'lib' and len(parts) > 2:
        return parts[1]
    return None


def include_target(src, room, kind, name):
    """The room an include reaches, 'system', or ('lib', pattern-index)."""
    if kind == '<' and name.startswith('gpupart/'):
        return PUBLIC.get(name[len('gpupart/'):], 'unknown public header ' + name)
    if kind == '<':
        for k, (pat, _, _) in enumerate(LIBS):
            if re.search(pat, name) if pat.endswith('$') else name.startswith(pat):
                return ('lib', k)
        return 'system'
    if '/' in name:
        top = name.split('/')[0]
        if top == 'shared' or top in RULES:
            return top
        return 'unknown room ' + top
    if room == 'cli' and os.path.isfile(os.path.join(src, 'cli', name)):
        return 'cli-own'
    return 'unknown local header ' + name


def functions(blank_lines):
    """(name, first line, length, text) of every function body whose braces stand alone at
    column 0 (the kernel style the tree follows)."""
    out, start, name = [], None, None
    for i, l in enumerate(blank_lines):
        if l.rstrip() == '{' and start is None:
            start = i
            name = '?'
            for j in range(i - 1, max(i - 6, -1), -1):
                m = re.search(r'([A-Za-z_][A-Za-z0-9_]*)\s*\(', blank_lines[j])
                if m and not blank_lines[j].startswith((' ', '\t')):
                    name = m.group(1)
                    break
        elif l.startswith('}') and start is not None:
            out.append((name, start + 1, i - start - 1))
            start = None
    return out


# ---- checking -----------------------------------------------------------------------------
def check(src):
    problems, used = [], set()

    def report(rel, kind, what, msg):
        for k, e in enumerate(EXCEPTIONS):
            if e[0] == rel and e[1] == kind and e[2] == what:
                used.add(k)
                return
        problems.append('%s: %s' % (rel, msg))

    for dirpath, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith(('.c', '.h')):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, src)
            room = room_of(rel)
            with open(path, encoding='utf-8', errors='replace') as fh:
                text = fh.read()
            lines = text.split('\n')
            if len(lines) - 1 > MAX_FILE_LINES:
                report(rel, 'file-lines', f, '%d lines (at most %d)' % (len(lines) - 1,
                                                                        MAX_FILE_LINES))
            if room is None:
                continue
            blank, lits = strip_comments(text)
            blank_lines = blank.split('\n')
            for m in INCLUDE.finditer(blank):
                kind, name = m.group(1), m.group(2)
                what = kind + name + ('>' if kind == '<' else '"')
                t = include_target(src, room, kind, name)
                if isinstance(t, tuple):
                    pat, allowed, why = LIBS[t[1]]
                    if room not in allowed and rel not in allowed:
                        report(rel, 'include', what, 'includes %s (%s)' % (what, why))
                elif t == 'system' or t == 'cli-own':
                    continue
                elif t.startswith('unknown'):
                    report(rel, 'include', what, 'includes %s: %s' % (what, t))
                elif room == 'cli':
                    if not name.startswith('gpupart/') and t not in RULES['cli']:
                        report(rel, 'include', what,
                               'includes %s: the CLI uses <gpupart/*> and shared/ only' % what)
                elif t != room and t not in RULES[room]:
                    report(rel, 'include', what, 'includes %s: %s may not depend on %s' %
                           (what, room, t))
            for line, lit in lits:
                for pat, owner, why in SONAMES:
                    if re.search(pat, lit) and rel != owner:
                        report(rel, 'soname', lit, 'line %d: "%s" is loaded by %s only (%s)' %
                               (line, lit, owner, why))
            if rel != HOSTFS:
                for line, lit in lits:
                    # a literal with a blank is a message for people, which may name a
                    # path; code opens literals without one
                    if HOST_PATH.search(lit) and not re.search(r'\s', lit):
                        report(rel, 'path', lit, 'line %d: host path literal "%s" (only %s '
                               'spells host paths)' % (line, lit, HOSTFS))
            if rel.startswith('lib/'):
                for i, l in enumerate(blank_lines):
                    if PRINTS.search(l):
                        report(rel, 'prints', l.strip(), 'line %d: the library never prints '
                               'or exits: %s' % (i + 1, l.strip()))
            for name, first, length in functions(blank_lines):
                if length <= MAX_FUNC_LINES:
                    continue
                body = '\n'.join(lines[max(first - 12, 0):first + length])
                if LONG_MARK.search(body):
                    continue
                report(rel, 'func-lines', name, 'line %d: %s() is %d lines (at most %d '
                       'without a "long:" comment saying why)' % (first, name, length,
                                                                  MAX_FUNC_LINES))
    for k, e in enumerate(EXCEPTIONS):
        if k not in used:
            problems.append('EXCEPTIONS: %s %s %s matches nothing any more: remove it' %
                            (e[0], e[1], e[2]))
    return problems


def self_test(scratch):
    """Plants one violation per rule in a copy-free scratch tree and checks each is found."""
    root = os.path.join(scratch, 'layers-self-test')
    shutil.rmtree(root, ignore_errors=True)
    plant = {
        'shared/x.c': '#include "base/internal.h"\n',
        'lib/base/x.c': '#include "host/hostfs.h"\n',
        'lib/policy/x.c': '#include "host/hostfs.h"\nstatic int f(void);\n',
        'lib/txn/x.c': '#include <gpupart/model.h>\n',
        'lib/model/x.c': '#include <pci/pci.h>\nstatic const char *p = "sys/bus/pci";\n'
                         'static const char *q = "no sys/bus/pci in a message";\n',
        'lib/guard/x.c': '#include <libvirt/libvirt.h>\n',
        'lib/host/x.c': '#include <libxml/tree.h>\n',
        'lib/conf/x.c': 'void f(void)\n{\n\tprintf("hi\\n");\n}\n',
        'cli/x.c': '#include "host/hostfs.h"\n',
        'lib/kinds/x.c': 'void g(void)\n{\n' + '\tg();\n' * 81 + '}\n',
        'lib/ops/x.c': '\n' * 801,
        'lib/host/y.c': 'static const char *so = "libnvidia-ml.so.1";\n',
    }
    want = {
        'shared/x.c': 'shared may not depend on base',
        'lib/base/x.c': 'base may not depend on host',
        'lib/policy/x.c': 'policy may not depend on host',
        'lib/txn/x.c': 'txn may not depend on model',
        'lib/model/x.c': 'libpci',
        'lib/guard/x.c': 'libvirt',
        'lib/host/x.c': 'libxml2',
        'lib/conf/x.c': 'never prints',
        'cli/x.c': '<gpupart/*> and shared/ only',
        'lib/kinds/x.c': 'g() is 81 lines',
        'lib/ops/x.c': '801 lines',
        'lib/host/y.c': 'is loaded by lib/host/nvml.c only',
    }
    for rel, text in plant.items():
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        with open(os.path.join(root, rel), 'w') as fh:
            fh.write(text)
    found = [p for p in check(root) if not p.startswith('EXCEPTIONS:')]
    shutil.rmtree(root, ignore_errors=True)
    bad = 0
    for rel, needle in want.items():
        if not any(p.startswith(rel + ':') and needle in p for p in found):
            print('self-test: no "%s" reported for %s' % (needle, rel))
            bad += 1
    paths = [p for p in found if 'host path literal' in p]
    if len(paths) != 1 or '"sys/bus/pci"' not in paths[0]:
        print('self-test: want the one host path literal of lib/model/x.c, got %s' % paths)
        bad += 1
    if bad:
        print('\n'.join(found))
        return 1
    print('self-test: all %d planted violations reported' % (len(want) + 1))
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == '--self-test':
        return self_test(argv[2])
    if len(argv) != 2:
        print(__doc__)
        return 2
    problems = check(os.path.join(argv[1], 'src'))
    for p in problems:
        print(p)
    if problems:
        print('%d layering problem(s): see HACKING.md, Layout' % len(problems))
        return 1
    print('layers: every file under src/ keeps the rules')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
