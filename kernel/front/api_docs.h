/* api_docs.h — the runtime API as the front knows it for completion and inspection.
 *
 * The table is generated at build time by gen_api_docs.py from runtime/include/cairn.h
 * and the headers it includes: every declaration preceded by a one-line doc comment
 * becomes an entry (functions, function-like and object macros, typedefs), and
 * the fields of every struct typedef become member entries. */
#ifndef CAIRN_API_DOCS_H
#define CAIRN_API_DOCS_H

#include <stddef.h>

typedef struct api_doc {
    const char *name;
    const char *kind;      /* "function", "macro", "type" */
    const char *signature; /* the declaration, without the body */
    const char *doc;       /* the one-line comment */
    const char *header;    /* "cairn/mat.h" */
} api_doc;

typedef struct api_field {
    const char *type_name; /* the typedef name ("mat") */
    const char *field;     /* "rows" */
    const char *decl;      /* "int rows" */
    const char *doc;       /* the trailing comment, or "" */
} api_field;

extern const api_doc api_docs[];
extern const size_t api_docs_count;
extern const api_field api_fields[];
extern const size_t api_fields_count;

/* Embedded install files (gen_embed.py): kernel.json template and the logos. */
extern const unsigned char embed_kernel_json[];
extern const size_t embed_kernel_json_size;
extern const unsigned char embed_logo_32[];
extern const size_t embed_logo_32_size;
extern const unsigned char embed_logo_64[];
extern const size_t embed_logo_64_size;

#endif
