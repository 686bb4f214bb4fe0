/* track_param.c — parameters of a notebook that a batch run can override.
 *
 * papermill's convention is a cell tagged `parameters`; here that cell reads its values
 * through param_double("lr", 0.01) & co. Each call returns CAIRN_PARAM_<name> from the
 * environment when it is set (so `CAIRN_PARAM_lr=0.1 jupyter nbconvert --execute nb.ipynb`
 * runs the same notebook with another value), else the default written in the cell.
 * The values used are remembered and logged as params of the active run and of every run
 * started later in the session, so a run always records what it ran with. A value that
 * does not parse as the asked type is an error naming the variable: silently running
 * with the default would be worse. */
#include "track_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"

#define PARAMS_MAX 64

static struct used_param {
    char name[64];
    char value[256];
} used[PARAMS_MAX];
static int nused;

static int name_ok(const char *func, const char *name)
{
    if (!name || !*name || strlen(name) >= sizeof used[0].name) {
        cairn_error(func, "a parameter needs a name of 1 to 63 characters");
        return 0;
    }
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            cairn_error(func, "parameter name '%s' must be letters, digits and _ (it becomes CAIRN_PARAM_%s)", name, name);
            return 0;
        }
    return 1;
}

static const char *env_value(const char *name)
{
    char var[96];
    snprintf(var, sizeof var, "CAIRN_PARAM_%s", name);
    return getenv(var);
}

/* Remember name = value and log it to the active run. */
static const char *remember(const char *name, const char *value)
{
    int i = 0;
    while (i < nused && strcmp(used[i].name, name) != 0)
        i++;
    if (i == nused) {
        if (nused == PARAMS_MAX)
            return value;
        nused++;
    }
    snprintf(used[i].name, sizeof used[i].name, "%s", name);
    snprintf(used[i].value, sizeof used[i].value, "%s", value);
    track_run_state *r = track_active_run();
    if (r)
        run_param("param", r, name, used[i].value);
    return used[i].value;
}

int params_is_auto(const char *key, const char *value)
{
    for (int i = 0; i < nused; i++)
        if (strcmp(used[i].name, key) == 0 && strcmp(used[i].value, value) == 0)
            return 1;
    return 0;
}

void params_log_to(track_run_state *r)
{
    for (int i = 0; i < nused; i++)
        run_param("track_start_run", r, used[i].name, used[i].value);
}

double param_double(const char *name, double dflt)
{
    if (!name_ok("param_double", name))
        return NAN;
    const char *env = env_value(name);
    double v = dflt;
    if (env) {
        char *end;
        errno = 0;
        v = strtod(env, &end);
        if (end == env || *end || errno == ERANGE) {
            cairn_error("param_double", "CAIRN_PARAM_%s='%s' is not a number", name, env);
            return NAN;
        }
    }
    char text[64];
    track_format_number(v, text, sizeof text);
    remember(name, text);
    return v;
}

long param_int(const char *name, long dflt)
{
    if (!name_ok("param_int", name))
        return 0;
    const char *env = env_value(name);
    long v = dflt;
    if (env) {
        char *end;
        errno = 0;
        v = strtol(env, &end, 10);
        if (end == env || *end || errno == ERANGE) {
            cairn_error("param_int", "CAIRN_PARAM_%s='%s' is not an integer", name, env);
            return 0;
        }
    }
    char text[32];
    snprintf(text, sizeof text, "%ld", v);
    remember(name, text);
    return v;
}

const char *param_string(const char *name, const char *dflt)
{
    if (!name_ok("param_string", name))
        return NULL;
    const char *env = env_value(name);
    return remember(name, env ? env : dflt ? dflt : "");
}
