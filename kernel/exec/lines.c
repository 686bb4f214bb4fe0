/* lines.c — which line of a cell a crashed instruction belongs to.
 *
 * Cells are compiled without debug information (the TCCState is deleted right after
 * relocation), so a crash report first only knows code addresses. Only when a cell
 * crashed, the parent executor compiles the same unit again, as an object file with
 * stabs (-g), into a memfd, and reads the line table: tcc emits identical instructions
 * for memory and object output (only relocated bytes differ), so an offset from the
 * start of the cell's text in memory is the same offset in the object's .text. Lines
 * come from N_SLINE entries of functions whose source is the cell (`#line L "cell"`),
 * not from inline functions of headers. */
#include "exec_internal.h"

#include <elf.h>
#include <libtcc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_FUN 0x24
#define N_SLINE 0x44
#define N_SO 0x64
#define N_SOL 0x84

typedef struct stab {
    uint32_t strx;
    uint8_t type;
    uint8_t other;
    uint16_t desc;
    uint32_t value;
} stab;

typedef struct line_entry {
    uintptr_t offset;
    int line; /* 0 when the statement is not the cell's (a header's inline function) */
} line_entry;

static void ignore_diagnostic(void *opaque, const char *msg)
{
    (void)opaque;
    (void)msg;
}

/* Compile to an ELF object in memory; returns its bytes (malloc'ed) or NULL. */
static unsigned char *compile_object(const char *source, size_t *size)
{
    int fd = memfd_create("cairn-lines", MFD_CLOEXEC);
    if (fd < 0)
        return NULL;
    warm_forget(); /* a compiler state waiting in this process (warm.c) is finished first */
    TCCState *s = tcc_new();
    unsigned char *out = NULL;
    if (s) {
        tcc_set_lib_path(s, CAIRN_TCC_LIB_DIR);
        tcc_set_error_func(s, NULL, ignore_diagnostic);
        tcc_add_include_path(s, CAIRN_RUNTIME_INCLUDE_DIR);
        if (exec_g.cflags)
            tcc_set_options(s, exec_g.cflags);
        tcc_set_options(s, "-g");
        tcc_set_output_type(s, TCC_OUTPUT_OBJ);
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        struct stat st;
        if (tcc_compile_string(s, source) == 0 && tcc_output_file(s, path) == 0 && fstat(fd, &st) == 0 &&
            st.st_size > (off_t)sizeof(Elf64_Ehdr) && (out = malloc((size_t)st.st_size)) != NULL) {
            if (pread(fd, out, (size_t)st.st_size, 0) != st.st_size) {
                free(out);
                out = NULL;
            } else {
                *size = (size_t)st.st_size;
            }
        }
        tcc_delete(s);
    }
    close(fd);
    return out;
}

/* tcc writes ELF structures at unaligned offsets: everything is read with memcpy. */
static int section(const unsigned char *elf, size_t size, const char *name, Elf64_Shdr *out)
{
    Elf64_Ehdr eh;
    if (size < sizeof eh)
        return 0;
    memcpy(&eh, elf, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_shoff + (size_t)eh.e_shnum * sizeof(Elf64_Shdr) > size || eh.e_shstrndx >= eh.e_shnum)
        return 0;
    Elf64_Shdr names;
    memcpy(&names, elf + eh.e_shoff + (size_t)eh.e_shstrndx * sizeof names, sizeof names);
    if (names.sh_offset + names.sh_size > size)
        return 0;
    for (int i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        memcpy(&sh, elf + eh.e_shoff + (size_t)i * sizeof sh, sizeof sh);
        if (sh.sh_name >= names.sh_size || sh.sh_offset + sh.sh_size > size)
            continue;
        const char *sn = (const char *)elf + names.sh_offset + sh.sh_name;
        if (strnlen(sn, names.sh_size - sh.sh_name) < names.sh_size - sh.sh_name && strcmp(sn, name) == 0) {
            *out = sh;
            return 1;
        }
    }
    return 0;
}

/* .text offset of function `name` (length n) from the object's symbol table, or -1. */
static long function_offset(const unsigned char *elf, size_t size, const char *name, size_t n)
{
    Elf64_Shdr symtab, strtab;
    if (!section(elf, size, ".symtab", &symtab) || !section(elf, size, ".strtab", &strtab))
        return -1;
    size_t count = symtab.sh_size / sizeof(Elf64_Sym);
    for (size_t i = 0; i < count; i++) {
        Elf64_Sym sym;
        memcpy(&sym, elf + symtab.sh_offset + i * sizeof sym, sizeof sym);
        if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_name >= strtab.sh_size)
            continue;
        const char *sn = (const char *)elf + strtab.sh_offset + sym.st_name;
        if (strnlen(sn, strtab.sh_size - sym.st_name) == n && memcmp(sn, name, n) == 0)
            return (long)sym.st_value;
    }
    return -1;
}

static int by_offset(const void *a, const void *b)
{
    const line_entry *x = a, *y = b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

void lines_lookup(const char *source, const uintptr_t *offsets, int n, int *lines)
{
    for (int i = 0; i < n; i++)
        lines[i] = 0;
    size_t size = 0;
    unsigned char *elf = source ? compile_object(source, &size) : NULL;
    if (!elf)
        return;
    Elf64_Shdr st, ss;
    if (!section(elf, size, ".stab", &st) || !section(elf, size, ".stabstr", &ss) || ss.sh_size == 0) {
        free(elf);
        return;
    }
    size_t count = st.sh_size / sizeof(stab);
    const char *strs = (const char *)elf + ss.sh_offset;
    line_entry *table = malloc((count ? count : 1) * sizeof *table);
    size_t nt = 0;
    int in_cell = 0;
    long fun = -1;
    for (size_t i = 0; table && i < count; i++) {
        stab e;
        memcpy(&e, elf + st.sh_offset + i * sizeof e, sizeof e);
        /* stabstr strings are NUL-terminated inside the section (checked: last byte) */
        const char *str = e.strx < ss.sh_size && strs[ss.sh_size - 1] == '\0' ? strs + e.strx : "";
        switch (e.type) {
        case N_SO:
        case N_SOL:
            in_cell = strcmp(str, "cell") == 0;
            break;
        case N_FUN:
            fun = str[0] ? function_offset(elf, size, str, strcspn(str, ":")) : -1;
            break;
        case N_SLINE:
            if (fun >= 0) {
                table[nt].offset = (uintptr_t)fun + e.value;
                table[nt].line = in_cell ? e.desc : 0;
                nt++;
            }
            break;
        default:
            break;
        }
    }
    if (table && nt) {
        qsort(table, nt, sizeof *table, by_offset);
        for (int k = 0; k < n; k++) {
            int line = 0;
            for (size_t i = 0; i < nt && table[i].offset <= offsets[k]; i++)
                line = table[i].line;
            lines[k] = line;
        }
    }
    free(table);
    free(elf);
}
