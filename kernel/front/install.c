/* install.c — `cairn-kernel install`: write the `cairn` kernelspec the way ipykernel does.
 *
 *   cairn-kernel install --user            ~/.local/share/jupyter/kernels/cairn (or $JUPYTER_DATA_DIR)
 *   cairn-kernel install --prefix DIR      DIR/share/jupyter/kernels/cairn
 *   cairn-kernel install --sys-prefix      /usr/share/jupyter/kernels/cairn (Debian's python prefix)
 *   cairn-kernel install                   /usr/local/share/jupyter/kernels/cairn (system-wide)
 *   --name NAME                            another kernel name (several builds side by side)
 *
 * kernel.json (from kernelspec/kernel.json.in) and the logos are embedded in the binary
 * at build time, and argv[0] of the spec is this binary's absolute path, so a build
 * directory or an installed binary both work without data files next to them. */
#include "front.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_docs.h"

static int mkdir_p(const char *path)
{
    char buf[3 * PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int write_file(const char *dir, const char *name, const void *data, size_t size)
{
    char path[3 * PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        fprintf(stderr, "cairn: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    int ok = fwrite(data, 1, size, fp) == size;
    ok &= fclose(fp) == 0;
    if (!ok)
        fprintf(stderr, "cairn: cannot write %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

/* The template with @CAIRN_KERNEL@ replaced by the JSON-escaped binary path. */
static char *render_kernel_json(const char *binary)
{
    json_t *s = json_string(binary);
    char *quoted = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    json_decref(s);
    if (!quoted)
        return NULL;
    size_t ql = strlen(quoted);
    quoted[ql - 1] = 0; /* strip the quotes: the template has them */
    const char *tpl = (const char *)embed_kernel_json;
    const char *mark = "@CAIRN_KERNEL@";
    const char *at = strstr(tpl, mark);
    char *out = NULL;
    if (at) {
        size_t n = (size_t)(at - tpl) + strlen(quoted + 1) + strlen(at + strlen(mark)) + 1;
        out = malloc(n);
        if (out)
            snprintf(out, n, "%.*s%s%s", (int)(at - tpl), tpl, quoted + 1, at + strlen(mark));
    }
    free(quoted);
    /* Refuse to install something Jupyter could not parse. */
    json_error_t err;
    json_t *check = out ? json_loads(out, 0, &err) : NULL;
    if (!check) {
        free(out);
        return NULL;
    }
    json_decref(check);
    return out;
}

static void usage(FILE *fp)
{
    fprintf(fp, "usage: cairn-kernel install [--user | --prefix DIR | --sys-prefix] [--name NAME]\n");
}

int install_main(int argc, char **argv)
{
    const char *mode = "system", *prefix = NULL, *name = "cairn";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--user") == 0)
            mode = "user";
        else if (strcmp(argv[i], "--sys-prefix") == 0)
            mode = "sys-prefix";
        else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc)
            mode = "prefix", prefix = argv[++i];
        else if (strncmp(argv[i], "--prefix=", 9) == 0)
            mode = "prefix", prefix = argv[i] + 9;
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strncmp(argv[i], "--name=", 7) == 0)
            name = argv[i] + 7;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "cairn: install: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!*name || strchr(name, '/')) {
        fprintf(stderr, "cairn: install: invalid kernel name '%s'\n", name);
        return 2;
    }
    char base[PATH_MAX + 64];
    if (strcmp(mode, "user") == 0) {
        const char *data = getenv("JUPYTER_DATA_DIR");
        const char *xdg = getenv("XDG_DATA_HOME");
        const char *home = getenv("HOME");
        if (data && *data)
            snprintf(base, sizeof base, "%s/kernels", data);
        else if (xdg && *xdg)
            snprintf(base, sizeof base, "%s/jupyter/kernels", xdg);
        else if (home && *home)
            snprintf(base, sizeof base, "%s/.local/share/jupyter/kernels", home);
        else {
            fprintf(stderr, "cairn: install --user: neither JUPYTER_DATA_DIR nor HOME is set\n");
            return 1;
        }
    } else if (strcmp(mode, "prefix") == 0) {
        snprintf(base, sizeof base, "%s/share/jupyter/kernels", prefix);
    } else if (strcmp(mode, "sys-prefix") == 0) {
        snprintf(base, sizeof base, "/usr/share/jupyter/kernels");
    } else {
        snprintf(base, sizeof base, "/usr/local/share/jupyter/kernels");
    }
    char dir[2 * PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", base, name);
    char binary[PATH_MAX];
    /* The program Jupyter should start is the launcher that ran us (launcher.c). */
    const char *launcher = getenv("CAIRN_LAUNCHER");
    if (launcher && *launcher && access(launcher, X_OK) == 0 && strlen(launcher) < sizeof binary) {
        strcpy(binary, launcher);
    } else if (!realpath("/proc/self/exe", binary)) {
        fprintf(stderr, "cairn: install: cannot find this binary's path: %s\n", strerror(errno));
        return 1;
    }
    char *spec = render_kernel_json(binary);
    if (!spec) {
        fprintf(stderr, "cairn: install: the embedded kernel.json template is invalid\n");
        return 1;
    }
    if (mkdir_p(dir) < 0) {
        fprintf(stderr, "cairn: install: cannot create %s: %s\n", dir, strerror(errno));
        free(spec);
        return 1;
    }
    int rc = write_file(dir, "kernel.json", spec, strlen(spec));
    free(spec);
    rc |= write_file(dir, "logo-32x32.png", embed_logo_32, embed_logo_32_size);
    rc |= write_file(dir, "logo-64x64.png", embed_logo_64, embed_logo_64_size);
    if (rc)
        return 1;
    printf("Installed kernelspec %s in %s\n", name, dir);
    return 0;
}
