"""FID and KID from Inception features, with torch-fidelity's reference formulas.

FID: Frechet distance between Gaussians fitted to the two feature sets. KID: unbiased MMD^2 with the
cubic polynomial kernel, averaged over random subsets; the subset size adapts to small sets
(``min(requested, n_gen, n_real)``), which torch-fidelity itself refuses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dsgan.errors import UserError


def fid_from_features(gen: torch.Tensor, real: torch.Tensor) -> float:
    """Frechet Inception Distance ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^1/2)``.

    With more images than feature dimensions this is torch-fidelity's own computation. With fewer
    (small evaluation sets), ``tr((S1 S2)^1/2)`` is computed exactly and much faster as the nuclear
    norm of ``A B^T`` (``S1 = A^T A``, ``S2 = B^T B``, ``A = centred features / sqrt(n - 1)``): the
    nonzero eigenvalues of ``S1 S2`` are the squared singular values of ``A B^T``.

    Args:
        gen, real: (N, D) and (M, D) features (N, M >= 2).

    Returns:
        FID >= 0 (up to rounding); 0 for identical sets.
    """
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    if len(gen) < 2 or len(real) < 2:
        raise UserError("FID needs at least 2 images in each set")
    gen, real = gen.double().cpu(), real.double().cpu()
    if max(len(gen), len(real)) >= gen.shape[1]:
        stats_gen = fid_features_to_statistics(gen)
        stats_real = fid_features_to_statistics(real)
        out = fid_statistics_to_metric(stats_gen, stats_real, verbose=False)
        return float(out["frechet_inception_distance"])
    a = (gen - gen.mean(0)) / (len(gen) - 1) ** 0.5
    b = (real - real.mean(0)) / (len(real) - 1) ** 0.5
    diff = gen.mean(0) - real.mean(0)
    tr_covmean = torch.linalg.svdvals(a @ b.T).sum()
    fid = diff @ diff + a.pow(2).sum() + b.pow(2).sum() - 2 * tr_covmean
    return float(fid)


@dataclass(frozen=True)
class KIDResult:
    """KID mean/std over ``subsets`` random subsets of ``subset_size`` images each."""

    mean: float
    std: float
    subset_size: int
    subsets: int


def kid_from_features(
    gen: torch.Tensor,
    real: torch.Tensor,
    subset_size: int = 1000,
    subsets: int = 100,
    seed: int = 0,
) -> KIDResult:
    """Kernel Inception Distance (unbiased MMD^2, polynomial kernel of degree 3).

    Args:
        gen, real: (N, D) and (M, D) features.
        subset_size: requested subset size; reduced to ``min(N, M)`` for small sets.
        subsets: number of random subsets.
        seed: subset sampling seed.

    Returns:
        :class:`KIDResult`; about 0 (possibly slightly negative) for sets from one distribution.
    """
    from torch_fidelity.metric_kid import kid_features_to_metric

    size = min(subset_size, len(gen), len(real))
    if size < 2:
        raise UserError("KID needs at least 2 images in each set")
    out = kid_features_to_metric(
        gen.double(),
        real.double(),
        kid_subsets=subsets,
        kid_subset_size=size,
        kid_kernel_poly_degree=3,
        kid_kernel_poly_gamma=None,
        kid_kernel_poly_coef0=1,
        kid_kernel="poly",
        rng_seed=seed,
        verbose=False,
    )
    return KIDResult(
        mean=float(out["kernel_inception_distance_mean"]),
        std=float(out["kernel_inception_distance_std"]),
        subset_size=size,
        subsets=subsets,
    )
