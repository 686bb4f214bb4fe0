#!/usr/bin/python3
"""gen_api_docs.py — runtime headers -> C table of the API for complete/inspect.

Usage: gen_api_docs.py RUNTIME_INCLUDE/cairn.h OUT.c DEPFILE

Reads cairn.h, every header it includes as "cairn/..." and every other header in
RUNTIME_INCLUDE/cairn/ (so a new header is documented even before the umbrella
includes it). A declaration directly preceded by a one-line `/** ... */` comment
becomes an entry: function prototypes (static inline bodies dropped), macros and
typedefs. The fields of `typedef struct X {...} X;` become member entries, with their
trailing comment as doc. The depfile lists every header read so ninja regenerates
when one changes.
"""
import glob
import os
import re
import sys


def c_string(s):
    out = ['"']
    for ch in s:
        if ch in '\\"':
            out.append('\\' + ch)
        elif ch == '\n':
            out.append('\\n')
        elif ch == '\t':
            out.append(' ')
        elif ord(ch) < 32:
            continue
        elif ord(ch) > 126:
            # UTF-8 bytes as octal escapes: safe in any C compiler's source charset.
            out.extend('\\%03o' % b for b in ch.encode('utf-8'))
        else:
            out.append(ch)
    out.append('"')
    return ''.join(out)


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    return re.sub(r'//[^\n]*', ' ', text)


def squash(s):
    return re.sub(r'\s+', ' ', s).strip()


def declaration_after(text, pos):
    """The declaration that starts at pos: a #define line (with continuations), or C
    text up to the first ';' or '{' at nesting depth 0 (then the body is skipped)."""
    m = re.match(r'\s*', text[pos:])
    pos += m.end()
    if text.startswith('#', pos):
        end = pos
        while True:
            nl = text.find('\n', end)
            if nl < 0:
                nl = len(text)
            if text[nl - 1:nl] == '\\':
                end = nl + 1
                continue
            return text[pos:nl], 'macro'
    depth = 0
    i = pos
    while i < len(text):
        c = text[i]
        if c == '(':
            depth += 1
        elif c == ')':
            depth -= 1
        elif depth == 0 and c in ';{':
            decl = text[pos:i]
            if c == '{' and re.match(r'\s*typedef\s+(struct|union|enum)\b', decl):
                # typedef struct X { ... } X;  -> keep it whole up to the ';'
                j = text.find(';', i)
                return text[pos:j], 'typedef-body'
            return decl, 'code'
        elif c == '/' and text.startswith('/*', i):
            # a comment inside the declaration (parameter notes): skip it
            j = text.find('*/', i)
            i = j + 2 if j >= 0 else len(text)
            continue
        i += 1
    return text[pos:], 'code'


def parse_header(path, rel):
    text = open(path, encoding='utf-8').read()
    docs, fields = [], []
    for m in re.finditer(r'/\*\*(.*?)\*/', text, flags=re.S):
        doc = squash(m.group(1).lstrip('*'))
        raw, what = declaration_after(text, m.end())
        if what == 'macro':
            mm = re.match(r'#\s*define\s+(\w+)(\([^)]*\))?', raw)
            if not mm:
                continue
            name = mm.group(1)
            sig = '#define ' + name + (mm.group(2) or '')
            docs.append((name, 'macro', sig, doc, rel))
            continue
        decl = squash(strip_comments(raw))
        if what == 'typedef-body':
            mm = re.search(r'\}\s*(\w+)\s*$', decl)
            if mm:
                docs.append((mm.group(1), 'type', decl.split('{')[0].strip() + ' ' + mm.group(1), doc, rel))
            continue
        if decl.startswith('typedef'):
            mm = re.search(r'\(\s*\*\s*(\w+)\s*\)', decl) or re.search(r'(\w+)\s*$', decl)
            if mm:
                docs.append((mm.group(1), 'type', decl, doc, rel))
            continue
        mm = re.search(r'(\w+)\s*\(', decl)
        if not mm:
            # a documented variable declaration
            mv = re.search(r'(\w+)\s*(\[[^\]]*\])?\s*$', decl)
            if mv:
                docs.append((mv.group(1), 'variable', decl, doc, rel))
            continue
        sig = re.sub(r'^(static\s+)?(inline\s+)?', '', decl)
        sig = re.sub(r'\s*__attribute__\s*\(\(.*\)\)\s*$', '', sig)
        docs.append((mm.group(1), 'function', sig, doc, rel))
    # struct fields: typedef struct X { ... } X;
    for m in re.finditer(r'typedef\s+struct\s*\w*\s*\{(.*?)\}\s*(\w+)\s*;', text, flags=re.S):
        body, tname = m.group(1), m.group(2)
        for line in body.split('\n'):
            cm = re.search(r'/\*(.*?)\*/', line)
            note = squash(cm.group(1)) if cm else ''
            code = squash(strip_comments(line))
            for decl in filter(None, (d.strip() for d in code.split(';'))):
                fm = re.match(r'(.*?)(\w+)\s*(\[[^\]]*\])?$', decl)
                if not fm or '(' in decl and '(*' not in decl:
                    continue
                base = fm.group(1).strip()
                names = [fm.group(2)]
                # int rows, cols;  -> both fields share the base type
                if ',' in decl:
                    parts = [p.strip() for p in decl.split(',')]
                    first = re.match(r'(.*?)(\w+)$', parts[0])
                    if first:
                        base = first.group(1).strip()
                        names = [first.group(2)] + [re.sub(r'[^\w]', '', p) for p in parts[1:]]
                for n in names:
                    if n:
                        fields.append((tname, n, (base + ' ' + n).replace('* ', '*'), note))
    return docs, fields


def main():
    umbrella, out, depfile = sys.argv[1:4]
    inc = os.path.dirname(os.path.abspath(umbrella))
    headers = [os.path.abspath(umbrella)]
    text = open(umbrella, encoding='utf-8').read()
    for m in re.finditer(r'#\s*include\s*"([^"]+)"', text):
        p = os.path.join(inc, m.group(1))
        if os.path.exists(p) and p not in headers:
            headers.append(p)
    for p in sorted(glob.glob(os.path.join(inc, 'cairn', '*.h'))):
        p = os.path.abspath(p)
        if p not in headers:
            headers.append(p)
    docs, fields, seen = [], [], set()
    for p in headers:
        d, f = parse_header(p, os.path.relpath(p, inc))
        for e in d:
            if e[0] not in seen:
                seen.add(e[0])
                docs.append(e)
        fields.extend(f)
    docs.sort(key=lambda e: e[0])
    lines = ['/* Generated by kernel/front/gen_api_docs.py from the runtime headers. Do not edit. */',
             '#include "front/api_docs.h"', '', 'const api_doc api_docs[] = {']
    for name, kind, sig, doc, rel in docs:
        lines.append('    {%s, %s, %s, %s, %s},' % tuple(map(c_string, (name, kind, sig, doc, rel))))
    lines.append('    {0, 0, 0, 0, 0}};')
    lines.append('const size_t api_docs_count = %d;' % len(docs))
    lines.append('')
    lines.append('const api_field api_fields[] = {')
    for t, n, decl, note in fields:
        lines.append('    {%s, %s, %s, %s},' % tuple(map(c_string, (t, n, decl, note))))
    lines.append('    {0, 0, 0, 0}};')
    lines.append('const size_t api_fields_count = %d;' % len(fields))
    new = '\n'.join(lines) + '\n'
    if not os.path.exists(out) or open(out).read() != new:
        with open(out, 'w') as f:
            f.write(new)
    with open(depfile, 'w') as f:
        f.write('%s: %s\n' % (out, ' '.join(h.replace(' ', '\\ ') for h in headers + [inc + '/cairn'])))


if __name__ == '__main__':
    main()
