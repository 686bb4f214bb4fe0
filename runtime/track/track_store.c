/* track_store.c — the on-disk layout, as MLflow's FileStore defines it.
 *
 *   <root>/.trash/
 *   <root>/<experiment_id>/meta.yaml     artifact_location, creation_time, experiment_id,
 *                                        last_update_time, lifecycle_stage, name
 *   <root>/<experiment_id>/<run_id>/     meta.yaml, params/, metrics/, tags/, artifacts/
 *
 * The root is MLFLOW_TRACKING_URI (file:///abs, file:rel or a plain path) or ./mlruns;
 * MLflow creates experiment 0 "Default" and .trash when it opens a store, and so do we.
 * New experiments take the next free integer id (MLflow accepts any id string).
 * Strings in meta.yaml are single-quoted YAML scalars; numbers are plain. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "track_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn/error.h"

static char uri_override[TRACK_PATH];
static char root_path[TRACK_PATH];

long long track_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int track_set_uri(const char *uri)
{
    if (uri && strlen(uri) >= sizeof uri_override - 64) {
        cairn_error("track_set_uri", "tracking location is too long (%zu bytes)", strlen(uri));
        return -1;
    }
    snprintf(uri_override, sizeof uri_override, "%s", uri ? uri : "");
    return 0;
}

int store_mkdirs(const char *path)
{
    char tmp[TRACK_PATH];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(tmp, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int store_write_atomic(const char *path, const char *data, size_t len)
{
    char tmp[TRACK_PATH + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            errno = e;
            return -1;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

char *store_read_all(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (n + 1 >= cap) {
            char *g = realloc(buf, cap * 2);
            if (!g) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = g;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

int yaml_get(const char *text, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, klen) != 0 || line[klen] != ':')
            continue;
        const char *v = line + klen + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        const char *end = strchr(v, '\n');
        size_t vlen = end ? (size_t)(end - v) : strlen(v);
        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\r'))
            vlen--;
        size_t o = 0;
        if (vlen >= 2 && v[0] == '\'' && v[vlen - 1] == '\'') {
            for (size_t i = 1; i + 1 < vlen && o + 1 < size; i++) {
                out[o++] = v[i];
                if (v[i] == '\'' && i + 2 < vlen && v[i + 1] == '\'')
                    i++;
            }
        } else if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
            for (size_t i = 1; i + 1 < vlen && o + 1 < size; i++) {
                if (v[i] == '\\' && i + 2 < vlen)
                    i++;
                out[o++] = v[i];
            }
        } else {
            for (size_t i = 0; i < vlen && o + 1 < size; i++)
                out[o++] = v[i];
        }
        out[o] = '\0';
        return 1;
    }
    return 0;
}

void yaml_quote(const char *s, char *out, size_t size)
{
    size_t o = 0;
    if (size < 3) {
        if (size)
            out[0] = '\0';
        return;
    }
    out[o++] = '\'';
    for (; *s && o + 3 < size; s++) {
        if (*s == '\n' || *s == '\r')
            continue; /* one line per key */
        if (*s == '\'')
            out[o++] = '\'';
        out[o++] = *s;
    }
    out[o++] = '\'';
    out[o] = '\0';
}

int store_key_ok(const char *key)
{
    if (!key || !*key || key[0] == '/' || strlen(key) > 250 || strstr(key, ".."))
        return 0;
    for (const char *p = key; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_-. /", *p))
            return 0;
    return 1;
}

static const char *const status_names[] = {"", "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"};

const char *store_status_name(int status)
{
    return status >= 1 && status <= 5 ? status_names[status] : "UNKNOWN";
}

int store_status_number(const char *name)
{
    for (int i = 1; i <= 5; i++)
        if (name && strcasecmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

/* The root from the override, MLFLOW_TRACKING_URI or ./mlruns, made absolute. */
static int resolve_root(const char *func, char *out, size_t size)
{
    const char *uri = uri_override[0] ? uri_override : getenv("MLFLOW_TRACKING_URI");
    if (!uri || !*uri)
        uri = "mlruns";
    const char *path = uri;
    if (strncmp(uri, "file://", 7) == 0) {
        path = uri + 7;
        if (strncmp(path, "localhost/", 10) == 0)
            path += 9;
        if (*path != '/') {
            cairn_error(func, "tracking URI '%s': a file:// URI needs an absolute path (file:///dir/mlruns)", uri);
            return -1;
        }
    } else if (strncmp(uri, "file:", 5) == 0) {
        path = uri + 5;
    } else if (strstr(uri, "://") || strncmp(uri, "databricks", 10) == 0) {
        cairn_error(func, "tracking URI '%s' is not a file store: cairn writes MLflow's file layout only "
                          "(set MLFLOW_TRACKING_URI to a directory or file:///path)", uri);
        return -1;
    }
    if (!*path) {
        cairn_error(func, "tracking URI '%s' names no directory", uri);
        return -1;
    }
    if (path[0] == '/') {
        snprintf(out, size, "%s", path);
    } else {
        char cwd[TRACK_PATH];
        if (!getcwd(cwd, sizeof cwd)) {
            cairn_error(func, "cannot resolve '%s': getcwd: %s", path, strerror(errno));
            return -1;
        }
        if (snprintf(out, size, "%s/%s", cwd, path) >= (int)size) {
            cairn_error(func, "tracking path %s/%s is too long", cwd, path);
            return -1;
        }
    }
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    if (strchr(out, '\n')) {
        cairn_error(func, "tracking path contains a newline");
        return -1;
    }
    return 0;
}

static int write_experiment_meta(const char *root, const char *id, const char *name)
{
    char path[TRACK_PATH + 64], qname[600], loc[TRACK_PATH + 80], qloc[TRACK_PATH + 100], text[4096];
    long long now = track_now_ms();
    snprintf(loc, sizeof loc, "file://%s/%s", root, id);
    yaml_quote(loc, qloc, sizeof qloc);
    yaml_quote(name, qname, sizeof qname);
    int n = snprintf(text, sizeof text,
                     "artifact_location: %s\ncreation_time: %lld\nexperiment_id: '%s'\nlast_update_time: %lld\n"
                     "lifecycle_stage: active\nname: %s\n",
                     qloc, now, id, now, qname);
    snprintf(path, sizeof path, "%s/%s", root, id);
    if (store_mkdirs(path) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/%s/meta.yaml", root, id);
    return store_write_atomic(path, text, (size_t)n);
}

const char *store_root(const char *func)
{
    char root[TRACK_PATH];
    if (resolve_root(func, root, sizeof root) != 0)
        return NULL;
    if (store_mkdirs(root) != 0) {
        cairn_error(func, "cannot create the tracking directory %s: %s", root, strerror(errno));
        return NULL;
    }
    if (access(root, W_OK) != 0) {
        cairn_error(func, "the tracking directory %s is not writable: %s", root, strerror(errno));
        return NULL;
    }
    char path[TRACK_PATH + 32];
    snprintf(path, sizeof path, "%s/.trash", root);
    store_mkdirs(path);
    snprintf(path, sizeof path, "%s/0/meta.yaml", root);
    if (access(path, F_OK) != 0 && write_experiment_meta(root, "0", "Default") != 0) {
        cairn_error(func, "cannot write %s: %s", path, strerror(errno));
        return NULL;
    }
    snprintf(root_path, sizeof root_path, "%s", root);
    return root_path;
}

const char *track_dir(void)
{
    return store_root("track_dir");
}

static int is_number(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

int store_experiment_id(const char *func, const char *name, int create, char *id, size_t size)
{
    const char *root = store_root(func);
    if (!root)
        return -1;
    if (!name || !*name || strchr(name, '\n')) {
        cairn_error(func, "an experiment needs a one-line name");
        return -1;
    }
    DIR *d = opendir(root);
    if (!d) {
        cairn_error(func, "cannot read the tracking directory %s: %s", root, strerror(errno));
        return -1;
    }
    long long max_id = -1;
    int found = 0;
    struct dirent *e;
    char path[TRACK_PATH + 300], value[512];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s/meta.yaml", root, e->d_name);
        char *text = store_read_all(path, NULL);
        if (!text)
            continue; /* not an experiment (or unreadable): MLflow skips it too */
        if (is_number(e->d_name) && atoll(e->d_name) > max_id)
            max_id = atoll(e->d_name);
        if (!found && yaml_get(text, "name", value, sizeof value) && strcmp(value, name) == 0) {
            char stage[64] = "active";
            yaml_get(text, "lifecycle_stage", stage, sizeof stage);
            if (strcmp(stage, "deleted") != 0) {
                snprintf(id, size, "%s", e->d_name);
                found = 1;
            }
        }
        free(text);
    }
    closedir(d);
    if (found)
        return 0;
    if (!create) {
        cairn_error(func, "no experiment named '%s' in %s", name, root);
        return -1;
    }
    snprintf(id, size, "%lld", max_id + 1);
    if (write_experiment_meta(root, id, name) != 0) {
        cairn_error(func, "cannot create experiment '%s' in %s/%s: %s", name, root, id, strerror(errno));
        return -1;
    }
    return 0;
}
