/* volume.c — a synthetic CT-like volume: the 3-D modified Shepp–Logan head phantom.
 *
 * Ten ellipsoids (Kak & Slaney's 3-D extension of Shepp & Logan's head, with Toft's
 * "modified" intensities for visible contrast) are summed on a regular grid over
 * [-1, 1]^3 sampled at voxel centers. Rows of the result are axial slices (z from -1 up),
 * each a height x width image with y pointing up (row 0 is y near +1) so a slice looks
 * like the familiar 2-D phantom. Optional Gaussian noise, drawn from the session
 * generator reseeded with `seed`, turns it into a denoising exercise: the clean volume is
 * nearly low rank slice-wise, the noise is not. */
#include "cairn/volume.h"
#include "cairn/error.h"
#include "cairn/random.h"
#include "io_internal.h"

#include <limits.h>
#include <math.h>

typedef struct ellipsoid {
    double value;        /* added inside */
    double a, b, c;      /* semi-axes along the ellipsoid's own x, y, z */
    double x0, y0, z0;   /* center */
    double phi, theta, psi; /* Euler angles in degrees (z, x, z) */
} ellipsoid;

static const ellipsoid shepp_logan[10] = {
    {1.0, .6900, .920, .810, 0, 0, 0, 0, 0, 0},
    {-.8, .6624, .874, .780, 0, -.0184, 0, 0, 0, 0},
    {-.2, .1100, .310, .220, .22, 0, 0, -18, 0, 10},
    {-.2, .1600, .410, .280, -.22, 0, 0, 18, 0, 10},
    {.1, .2100, .250, .410, 0, .35, -.15, 0, 0, 0},
    {.1, .0460, .046, .050, 0, .1, .25, 0, 0, 0},
    {.1, .0460, .046, .050, 0, -.1, .25, 0, 0, 0},
    {.1, .0460, .023, .050, -.08, -.605, 0, 0, 0, 0},
    {.1, .0230, .023, .020, 0, -.606, 0, 0, 0, 0},
    {.1, .0230, .046, .020, .06, -.605, 0, 0, 0, 0},
};

void volume_shepp_logan_add(double *out, int first, int count, int n_slices, int height, int width)
{
    const double deg = M_PI / 180.0;
    for (int e = 0; e < 10; e++) {
        const ellipsoid *E = &shepp_logan[e];
        double cph = cos(E->phi * deg), sph = sin(E->phi * deg);
        double cth = cos(E->theta * deg), sth = sin(E->theta * deg);
        double cps = cos(E->psi * deg), sps = sin(E->psi * deg);
        /* Rotation into the ellipsoid's frame (z-x-z Euler angles). */
        double R[3][3] = {{cps * cph - cth * sph * sps, cps * sph + cth * cph * sps, sps * sth},
                          {-sps * cph - cth * sph * cps, -sps * sph + cth * cph * cps, cps * sth},
                          {sth * sph, -sth * cph, cth}};
        for (int s = first; s < first + count; s++) {
            double z = -1.0 + (2.0 * s + 1.0) / n_slices - E->z0;
            for (int i = 0; i < height; i++) {
                double y = 1.0 - (2.0 * i + 1.0) / height - E->y0;
                double *row = out + ((size_t)(s - first) * height + (size_t)i) * width;
                for (int j = 0; j < width; j++) {
                    double x = -1.0 + (2.0 * j + 1.0) / width - E->x0;
                    double u = (R[0][0] * x + R[0][1] * y + R[0][2] * z) / E->a;
                    double v = (R[1][0] * x + R[1][1] * y + R[1][2] * z) / E->b;
                    double w = (R[2][0] * x + R[2][1] * y + R[2][2] * z) / E->c;
                    if (u * u + v * v + w * w <= 1.0)
                        row[j] += E->value;
                }
            }
        }
    }
}

int volume_check_args(const char *func, int n_slices, int height, int width, double noise_sigma)
{
    if (n_slices < 1 || height < 1 || width < 1 || (long long)height * width > INT_MAX) {
        cairn_error(func, "shape %d slices x %d x %d is invalid (each must be >= 1)", n_slices, height, width);
        return -1;
    }
    if (!(noise_sigma >= 0) || isinf(noise_sigma)) {
        cairn_error(func, "noise_sigma must be finite and >= 0, got %g", noise_sigma);
        return -1;
    }
    return 0;
}

mat volume_shepp_logan(int n_slices, int height, int width, double noise_sigma, uint64_t seed)
{
    if (volume_check_args("volume_shepp_logan", n_slices, height, width, noise_sigma) < 0)
        return mat_empty();
    mat V = mat_zeros(n_slices, height * width);
    if (mat_is_empty(V))
        return V;
    volume_shepp_logan_add(V.data, 0, n_slices, n_slices, height, width);
    if (noise_sigma > 0) {
        rng_seed(seed);
        for (int s = 0; s < n_slices; s++) {
            double *row = mat_ptr(V, s, 0);
            for (int j = 0; j < V.cols; j++)
                row[j] += noise_sigma * rng_normal();
        }
    }
    V.channels = 1;
    V.height = height;
    V.width = width;
    return V;
}
