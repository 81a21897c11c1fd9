"""The metric layer and its nearest-neighbour kernel against reference implementations and known answers."""

import math
import warnings

import numpy as np
import pytest
import torch
from scipy.stats import mannwhitneyu
from sklearn.cluster import KMeans

from gan_zoo.errors import UserError
from gan_zoo.harness import functional as F
from gan_zoo.harness import knn


def gaussian(n, d, seed, shift=0.0, scale=1.0, dtype=torch.float32):
    return (torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale
            + shift).to(dtype)


def brute(a, b):
    return torch.cdist(a.double(), b.double(), compute_mode="donot_use_mm_for_euclid_dist")


class Identity(torch.nn.Module):
    """A torchmetrics feature module that passes precomputed features through."""

    def __init__(self, d):
        super().__init__()
        self.num_features = d

    def forward(self, x):
        return x


# ---------------------------------------------------------------- the kernel


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernel_matches_brute_force_with_duplicates_and_ragged_blocks(dtype):
    x = gaussian(203, 6, 0, shift=3.0, dtype=dtype)
    x[10] = x[20]
    x[30] = x[20]  # a triple: two neighbours at distance 0 each
    x[100] = x[101]
    full = brute(x, x)
    full.fill_diagonal_(math.inf)
    ranked = full.sort(dim=1).values
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    for k in (1, 2, 5):
        got = knn.kth_neighbour_distances(x, k, block=37)
        assert got.dtype == dtype
        np.testing.assert_allclose(got.double(), ranked[:, k - 1], atol=tol)
    assert knn.kth_neighbour_distances(x, 2, block=37)[10] == 0  # duplicates count as neighbours at 0
    assert knn.kth_neighbour_distances(x, 1, block=37)[100] == 0
    distances, indices = knn.nearest(x, x, k=4, block=50, exclude_self=True, ref_block=33)  # running top-k
    np.testing.assert_allclose(distances.double(), ranked[:, :4], atol=tol)
    assert (indices != torch.arange(len(x))[:, None]).all()
    np.testing.assert_allclose(full.gather(1, indices), ranked[:, :4], atol=tol)
    assert set(indices[10, :2].tolist()) == {20, 30}


@pytest.mark.parametrize("block, ref_block", [(37, None), (16, 40), (64, 16)])
def test_the_upper_triangle_walk_visits_each_pair_once_with_its_distance(block, ref_block):
    # the birthday test's pair search: blocks of rows against every later row, in chunks (ref_block < block is
    # widened to block so the diagonal falls in one chunk)
    x = gaussian(150, 5, 0, shift=2.0)
    q, _ = knn._prepare(x, x)
    seen = torch.full((150, 150), math.nan, dtype=torch.float64)
    for q0, q1, r0, r1, sq, _ in knn._squared_blocks(q, q, block, ref_block, upper=True):
        finite = sq.isfinite()
        assert torch.isnan(seen[q0:q1, r0:r1][finite]).all()  # no pair twice
        seen[q0:q1, r0:r1][finite] = sq[finite].double()
    upper = torch.ones(150, 150, dtype=torch.bool).triu(1)
    assert not torch.isnan(seen[upper]).any() and torch.isnan(seen[~upper]).all()  # every i < j, nothing else
    np.testing.assert_allclose(seen[upper].sqrt(), brute(x, x)[upper], atol=1e-4)


def test_nearest_and_ball_membership_match_brute_force():
    query, reference = gaussian(157, 5, 1), gaussian(211, 5, 2)
    query[3] = reference[7]  # an exact copy lands at distance 0
    full = brute(query, reference)
    distances, indices = knn.nearest(query, reference, k=3, block=40, ref_block=64)
    ranked = full.sort(dim=1)
    np.testing.assert_allclose(distances.double(), ranked.values[:, :3], atol=1e-5)
    assert torch.equal(indices[:, 0], ranked.indices[:, 0])
    assert distances[3, 0] == 0 and indices[3, 0] == 7
    radii = torch.rand(len(reference), generator=torch.Generator().manual_seed(3)) * 3
    q_radii = torch.rand(len(query), generator=torch.Generator().manual_seed(4)) * 2
    inside = full < radii.double()[None, :]
    assert torch.equal(knn.count_within(query, reference, radii, block=29), inside.sum(1))
    assert torch.equal(knn.covered(reference, radii, query, block=29), inside.any(0))
    balls = knn.ball_membership(query, reference, reference_radii=radii, query_radii=q_radii, block=29, ref_block=50)
    assert torch.equal(balls.count, inside.sum(1)) and torch.equal(balls.covered, inside.any(0))
    assert torch.equal(balls.reached, (full < q_radii.double()[:, None]).any(0))
    # a radius exactly at a distance: strict (prdc) excludes it, strict=False includes it
    exact = full[0, 5].item()
    on_edge = torch.full((len(reference),), 0.0, dtype=torch.float64)
    on_edge[5] = exact
    assert knn.count_within(query.double(), reference.double(), on_edge)[0] == 0
    assert knn.count_within(query.double(), reference.double(), on_edge, strict=False)[0] == 1


@pytest.mark.parametrize("features", ["overlapping", "integer"])
def test_pairs_near_a_radius_are_decided_alike_by_float64_products_and_by_gathered_rows(monkeypatch, features):
    # overlapping Gaussians in 512-d put many pairs within float32's error band of the k-NN radii; integer features
    # with copies put exact ties there
    generator = torch.Generator().manual_seed(0)
    if features == "overlapping":
        real, fake = torch.randn(500, 512, generator=generator), torch.randn(500, 512, generator=generator) * 1.1
    else:
        real = torch.randint(0, 5, (300, 20), generator=generator).float()
        fake = torch.cat([real[:100], torch.randint(0, 5, (200, 20), generator=generator).float()])
    gathered = []
    pair_squared = knn._pair_squared
    monkeypatch.setattr(knn, "_pair_squared", lambda a, b, i, j: gathered.append(len(i)) or pair_squared(a, b, i, j))
    answers = {}
    for cost in (0, 10**12):  # every pair in a band gathered, or every band through the product
        monkeypatch.setattr(knn, "GATHER_COST", cost)
        gathered.clear()
        answers[cost] = F.prdc(real, fake, k=5, block=64), sum(gathered)
    (by_rows, band), (by_product, left_to_rows) = answers[0], answers[10**12]
    # float64's error is far below float32's rounding: even exact ties are decided by the product
    assert by_product == by_rows and band > 100 and left_to_rows == 0
    if features == "integer":
        assert by_product == exact_prdc(real, fake, 5)
    # a squared distance of 2^24 + 3 lies halfway between two float32 values (it rounds to 2^24 + 4, whose root
    # is 4096 + 2^-11, and below it to 2^24 + 2, whose root rounds to 4096): against a radius of 4096 + 2^-11 the
    # product decides d <= radius (true at both ends of its error) but not d < radius, and gathers that pair
    query, reference, radius = torch.tensor([[4096.0, 1.0, 1.0, 1.0]]), torch.zeros(1, 4), 4096 + 2**-11
    gathered.clear()
    assert knn.count_within(query, reference, torch.tensor([radius]), strict=False)[0] == 1 and gathered == []
    assert knn.count_within(query, reference, torch.tensor([radius]))[0] == 0 and gathered == [1]


def test_kernel_errors_are_one_line_user_errors():
    x = torch.randn(10, 3)
    with pytest.raises(UserError, match="only 9 reference rows other than the item itself"):
        knn.nearest(x, x, k=10, exclude_self=True)
    with pytest.raises(UserError, match="x: 10 rows, at least 11 needed"):
        knn.kth_neighbour_distances(x, 10)
    with pytest.raises(UserError, match="same rows"):
        knn.nearest(torch.randn(10, 3), torch.randn(10, 3), exclude_self=True)
    with pytest.raises(UserError, match="shape"):
        knn.count_within(torch.randn(5, 3), torch.randn(6, 3), torch.ones(5))


# ---------------------------------------------------------------- PRDC


@pytest.mark.parametrize("seed,n_real,n_fake,d,k,offset", [(0, 200, 150, 4, 5, 0.0), (1, 311, 311, 8, 3, 0.0),
                                                         (2, 120, 260, 16, 5, 0.0), (3, 400, 400, 128, 5, 2.0)])
def test_prdc_matches_the_prdc_package(seed, n_real, n_fake, d, k, offset):
    from prdc import compute_prdc
    from prdc.prdc import compute_nearest_neighbour_distances

    real = gaussian(n_real, d, seed).abs() * 0.3 + offset if offset else gaussian(n_real, d, seed)
    fake = gaussian(n_fake, d, seed + 100, shift=0.3, scale=1.2)
    fake = fake.abs() * 0.3 + offset + 0.01 if offset else fake  # far from the origin: float32 under stress
    real[5] = real[6]  # a duplicate pair inside real, and a fake copy of a real item
    fake[0] = real[9]
    expected = compute_prdc(real.numpy(), fake.numpy(), nearest_k=k)
    got = F.prdc(real, fake, k=k, block=64)
    for name in ("precision", "recall", "density", "coverage"):
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, err_msg=name)
    # the radii agree to the last bit: same rounding as sklearn's float32 distances
    assert np.array_equal(knn.kth_neighbour_distances(real, k).numpy(), compute_nearest_neighbour_distances(
        real.numpy(), k))


def test_prdc_known_answers():
    same = F.prdc(gaussian(2000, 8, 0), gaussian(2000, 8, 1))
    assert same["precision"] > 0.85 and same["recall"] > 0.85, same
    assert same["coverage"] > 0.9 and 0.85 < same["density"] < 1.15, same
    apart = F.prdc(gaussian(500, 8, 0), gaussian(500, 8, 1, shift=50.0))
    assert apart == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def exact_prdc(real, fake, k):
    """PRDC by integer arithmetic on integer-valued features: every tie decided exactly."""
    r, f = real.long(), fake.long()
    squared = lambda a, b: ((a[:, None] - b[None]) ** 2).sum(-1)  # noqa: E731
    real_r2, fake_r2 = squared(r, r).sort(1).values[:, k], squared(f, f).sort(1).values[:, k]  # [:, 0]: itself
    inside = squared(f, r) < real_r2[None]
    return {"precision": inside.any(1).double().mean().item(),
            "recall": (squared(f, r) < fake_r2[:, None]).any(0).double().mean().item(),
            "density": inside.sum().item() / (k * len(f)), "coverage": inside.any(0).double().mean().item()}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 5])
def test_prdc_decides_exact_ties_in_both_dtypes(dtype, k):
    # 60 items on a line along (1, 1, 1, 2): neighbours sqrt(7) apart, so distances are irrational and every radius
    # ties with other items' distances; the fakes are exact copies of every third item. With k = 1 each copy
    # lies in its own ball only (its neighbours sit exactly on the radius): density 1 and coverage 1/3
    line = (torch.arange(60)[:, None] * torch.tensor([1, 1, 1, 2])).to(dtype)
    got, expected = F.prdc(line, line[::3], k=k, block=16), exact_prdc(line, line[::3], k)
    assert got == expected
    if k == 1:
        assert expected == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 20 / 60}
    # random integer features with exact copies of real items among the fakes: in float64 the square roots of
    # the tied squared distances, rounded, gave density 0.967 (k = 1) and 1.043 (k = 5) for 0.958 and 1.020
    generator = torch.Generator().manual_seed(5)
    real = torch.randint(0, 5, (120, 20), generator=generator)
    fake = torch.cat([real[:40], torch.randint(0, 5, (80, 20), generator=generator)])
    expected = exact_prdc(real, fake, k)
    assert F.prdc(real.to(dtype), fake.to(dtype), k=k, block=32) == expected
    if dtype == torch.float32:  # sklearn's float32 distances are exact on these small integers too
        from prdc import compute_prdc
        assert compute_prdc(real.float().numpy(), fake.float().numpy(), nearest_k=k) == pytest.approx(expected)


# ---------------------------------------------------------------- KID, FD, MiFID against torchmetrics


# few small subsets: each computes its own kernels; many large ones: the kernels of all rows are computed once
@pytest.mark.parametrize("subsets, size", [(20, 50), (40, 150)])
def test_kid_matches_torchmetrics_on_the_same_subsets(subsets, size, monkeypatch):
    from torchmetrics.image.kid import KernelInceptionDistance

    real, fake = gaussian(300, 12, 0, dtype=torch.float64), gaussian(260, 12, 1, shift=0.2, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metric = KernelInceptionDistance(feature=Identity(12), subsets=subsets, subset_size=size)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    torch.manual_seed(7)
    mean, std = metric.compute()
    got = F.kid(real, fake, subsets=subsets, subset_size=size, seed=7)
    np.testing.assert_allclose([got["mean"], got["std"]], [mean.item(), std.item()], rtol=1e-5)
    assert got["subsets"] == subsets and got["subset_size"] == size
    monkeypatch.setattr(F, "KERNEL_CACHE_BYTES", 0)  # every subset's own kernels: the same sums in another order
    uncached = F.kid(real, fake, subsets=subsets, subset_size=size, seed=7)
    np.testing.assert_allclose([uncached["mean"], uncached["std"]], [got["mean"], got["std"]], rtol=1e-12)
    # explicit indices give the same numbers; subset_size is capped at the smaller set
    generator = torch.Generator().manual_seed(7)
    indices = [(torch.randperm(300, generator=generator)[:size], torch.randperm(260, generator=generator)[:size])
               for _ in range(subsets)]
    assert F.kid(real, fake, indices=indices)["mean"] == pytest.approx(got["mean"], rel=1e-12)
    assert F.kid(real, fake, subsets=2, subset_size=1000)["subset_size"] == 260


def test_kid_known_answers():
    same = F.kid(gaussian(600, 16, 0), gaussian(600, 16, 1), subsets=10, subset_size=300)
    apart = F.kid(gaussian(600, 16, 0), gaussian(600, 16, 1, shift=2.0), subsets=10, subset_size=300)
    assert abs(same["mean"]) < 0.02 and apart["mean"] > 10 * max(abs(same["mean"]), 1e-3), (same, apart)


def test_fd_matches_torchmetrics():
    from torchmetrics.image.fid import FrechetInceptionDistance

    real, fake = gaussian(500, 16, 0), gaussian(400, 16, 1, shift=0.5, scale=1.3)
    metric = FrechetInceptionDistance(feature=Identity(16))
    metric.update(real, real=True)
    metric.update(fake, real=False)
    assert F.fd(real, fake) == pytest.approx(metric.compute().item(), rel=1e-4)
    assert abs(F.fd(real, real)) < 1e-8


@pytest.mark.parametrize("noise", [0.01, 1.0])  # penalised (near copies) and not
def test_mifid_matches_torchmetrics_and_kaggle(noise):
    from torchmetrics.image.mifid import MemorizationInformedFrechetInceptionDistance as MiFID

    train = gaussian(300, 10, 0, shift=1.0, dtype=torch.float64)
    fake = torch.cat([train[:150] + noise * gaussian(150, 10, 1, dtype=torch.float64),
                      gaussian(100, 10, 2, shift=1.0, dtype=torch.float64)])
    metric = MiFID(feature=Identity(10))
    metric.update(train, real=True)
    metric.update(fake, real=False)
    got = F.mifid(train, fake, average_over="train")
    assert got["mifid"] == pytest.approx(metric.compute().item(), rel=1e-5)
    # the Kaggle / Bai et al. direction: each generated item's distance to its nearest training item
    a = (fake / fake.norm(dim=1, keepdim=True)).numpy()
    b = (train / train.norm(dim=1, keepdim=True)).numpy()
    distance = (1 - np.abs(a @ b.T)).min(axis=1).mean()
    penalty = distance if distance < 0.1 else 1.0
    kaggle = F.mifid(train, fake)
    assert kaggle["distance"] == pytest.approx(distance, rel=1e-9)
    assert kaggle["penalised"] == (noise < 0.1)
    assert kaggle["mifid"] == pytest.approx(F.fd(train, fake) / (penalty + 1e-14), rel=1e-9)


# ---------------------------------------------------------------- C_T, AuthPct: direct implementations


def clusters(n, seed, centres=((0, 0), (12, 0), (0, 12)), d=6, weights=None):
    generator = torch.Generator().manual_seed(seed)
    weights = torch.tensor(weights or [1.0] * len(centres))
    which = torch.multinomial(weights, n, replacement=True, generator=generator)
    centre = torch.zeros(len(centres), d)
    centre[:, :2] = torch.tensor(centres, dtype=torch.float32)
    return centre[which] + torch.randn(n, d, generator=generator)


def reference_ct(train, heldout, fake, cells, seed):
    """casey-meehan/data-copying's C_T with brute-force numpy nearest neighbours."""
    train, heldout, fake = (x.double().numpy() for x in (train, heldout, fake))
    km = KMeans(n_clusters=cells, n_init=10, random_state=seed).fit(train)
    t_cells, p_cells, q_cells = km.predict(train), km.predict(heldout), km.predict(fake)
    m, n = len(fake), len(heldout)
    q_share = np.bincount(q_cells, minlength=cells) / m
    p_share = np.bincount(p_cells, minlength=cells) / n
    keep = q_share > 20 / m
    z = np.zeros(cells)
    for i in range(cells):
        t, p, q = train[t_cells == i], heldout[p_cells == i], fake[q_cells == i]
        if len(q):
            lq = np.sqrt(((q[:, None] - t[None]) ** 2).sum(-1)).min(1)
            lp = np.sqrt(((p[:, None] - t[None]) ** 2).sum(-1)).min(1)
            u = mannwhitneyu(lq, lp, alternative="less").statistic
            z[i] = (u - (n_ := len(lp)) * len(lq) / 2 + 0.5) / np.sqrt(n_ * len(lq) * (n_ + len(lq) + 1) / 12)
    return p_share[keep] @ z[keep] / p_share[keep].sum(), keep


def test_ct_matches_the_reference_including_dropped_cells():
    train, heldout = clusters(900, 0), clusters(600, 1)
    fake = clusters(500, 2, weights=[1.0, 1.0, 0.02], d=6) * 1.05  # the third cell gets too few generated items
    expected, keep = reference_ct(train, heldout, fake, cells=3, seed=0)
    got = F.ct_test(train, heldout, fake, cells=3, seed=0)
    assert got["ct"] == pytest.approx(expected, rel=1e-9)
    assert got["cells_used"] == keep.sum() == 2 and got["cells_dropped"] == 1
    dropped = [row for row in got["cells"] if not row["used"]]
    assert dropped[0]["fake"] < 21 and "generated items" in dropped[0]["reason"]
    assert sum(row["heldout_share"] for row in got["cells"]) == pytest.approx(1.0)


def test_ct_known_answers_memorizer_and_heldout():
    train, heldout, fresh = clusters(1200, 0), clusters(600, 1), clusters(600, 2)
    copies = train[torch.randperm(1200, generator=torch.Generator().manual_seed(3))[:600]]
    assert F.ct_test(train, heldout, copies)["ct"] < -3
    assert abs(F.ct_test(train, heldout, fresh)["ct"]) < 2
    projected = F.ct_test(train, heldout, fresh, pca=4)
    assert projected["pca"] == 4 and abs(projected["ct"]) < 2.5


def test_authpct_matches_direct_implementation_and_known_answers():
    train, fake = gaussian(400, 5, 0), gaussian(300, 5, 1, scale=1.1)
    distances = brute(fake, train).numpy()
    train_nn = brute(train, train).fill_diagonal_(math.inf).numpy().min(1)
    nearest_train = distances.argmin(1)
    expected = (train_nn[nearest_train] < distances.min(1)).mean()
    assert F.authpct(train, fake) == pytest.approx(expected)
    assert F.authpct(train, train[:200].clone()) == 0.0  # a memorizer: every item sits on a training item
    assert 0.2 < F.authpct(train, gaussian(400, 5, 2)) < 0.9  # fresh real data: far from 100%


def test_a_search_done_once_for_several_sets_gives_the_same_answers():
    """The metrics score a model and a control against one real set: its radii (PRDC) and nearest-neighbour
    distances (AuthPct) are searched once and passed in, to the same numbers, bit for bit."""
    real, fake, control = gaussian(300, 6, 0), gaussian(250, 6, 1, scale=1.2), gaussian(300, 6, 2)
    radii = F.prdc_radii(real, 5)
    for other in (fake, control):
        assert F.prdc(real, other, k=5, real_radii=radii) == F.prdc(real, other, k=5)
    train_nn = knn.kth_neighbour_distances(real, 1)
    for other in (fake, control):
        assert F.authpct(real, other, train_nn=train_nn) == F.authpct(real, other)
    with pytest.raises(UserError, match=r"real_radii has shape \(299,\), not \(300,\)"):
        F.prdc(real, fake, k=5, real_radii=radii[1:])
    with pytest.raises(UserError, match=r"train_nn has shape \(300, 1\), not \(300,\)"):
        F.authpct(real, fake, train_nn=train_nn[:, None])


# ---------------------------------------------------------------- Vendi


def test_vendi_known_answers_and_the_gram_trick():
    assert F.vendi(torch.ones(50, 8)) == pytest.approx(1.0)
    assert F.vendi(torch.eye(30) * 3) == pytest.approx(30.0)  # n = d orthogonal rows
    assert F.vendi(torch.eye(12, 40)) == pytest.approx(12.0)  # n < d
    x = gaussian(200, 7, 0)  # d < n: X^T X route against the n x n definition
    unit = x.double() / x.double().norm(dim=1, keepdim=True)
    w = torch.linalg.eigvalsh(unit @ unit.T / 200)
    w = w[w > 0]
    assert F.vendi(x) == pytest.approx(math.exp(-(w * w.log()).sum().item()), rel=1e-9)


def test_fd_vendi_and_mifid_read_in_chunks_give_the_whole_matrix_answer():
    """FD's covariance and Vendi's gram are summed over chunks of rows and MiFID's cosines taken chunk by chunk (no
    float64 copy of 50k x 2048 features); chunks of 7 rows, uneven at the end, give the one-product numbers."""
    real, fake = gaussian(500, 16, 0).relu(), gaussian(400, 16, 1, shift=0.5, scale=1.3).relu()
    whole = []
    for x in (real, fake):
        x64 = x.double()
        centred = x64 - x64.mean(0)
        whole.append((x64.mean(0), centred.T @ centred / (len(x) - 1)))
    for (mean, cov), x in zip(whole, (real, fake), strict=True):
        chunked_mean, chunked_cov = F._gaussian(x, chunk=7)
        torch.testing.assert_close(chunked_mean, mean, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(chunked_cov, cov, rtol=1e-12, atol=1e-14)
    assert F.fd(real, fake) == pytest.approx(F._frechet(*whole[0], *whole[1]), rel=1e-10)
    assert F.vendi(real, chunk=7) == pytest.approx(F.vendi(real, chunk=len(real)), rel=1e-10)
    real[3] = 0  # a zero row has no direction and is dropped, in whichever chunk it falls
    unit = [x.double()[x.norm(dim=1) > 0] for x in (fake, real)]
    unit = [x / x.norm(dim=1, keepdim=True) for x in unit]
    whole_mifid = (1 - (unit[0] @ unit[1].T).abs().amax(dim=1)).mean().item()
    assert F._mean_min_cosine_distance(fake, real, block=5, chunk=7) == pytest.approx(whole_mifid, rel=1e-12)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("call,match", [
    (lambda: F.prdc(torch.randn(20, 3), torch.randn(20, 4)), "3 features per item but fake has 4"),
    (lambda: F.fd(torch.randn(20), torch.randn(20, 4)), "expected a 2-D tensor"),
    (lambda: F.kid(torch.randint(0, 5, (20, 3)), torch.randn(20, 3)), "float tensor"),
    (lambda: F.prdc(torch.randn(5, 3), torch.randn(20, 3), k=5), "real: 5 rows, at least 6"),
    (lambda: F.vendi(torch.zeros(3, 2)), "all zero"),
    (lambda: F.mifid(torch.randn(9, 2), torch.randn(9, 2), average_over="both"), "average_over"),
    (lambda: F.ct_test(torch.randn(50, 2), torch.randn(50, 2), torch.randn(10, 2)), "no cell holds 21"),
])
def test_inputs_are_validated(call, match):
    with pytest.raises(UserError, match=match):
        call()


def test_non_finite_rows_are_counted():
    fake = torch.randn(30, 3)
    fake[[2, 7], 1] = math.nan
    fake[9, 0] = math.inf
    with pytest.raises(UserError, match="fake: 3 of 30 rows hold NaN or inf"):
        F.authpct(torch.randn(30, 3), fake)


def test_nearest_finds_an_item_itself_among_thousands_within_float32_error_of_it():
    """20000 points in 8 clusters of std 0.01 (ring8's density): float32's error band (~1e-6 in squared distance)
    holds more than the kept candidates, so the item itself at 0 could be left out; those rows search in float64."""
    g = torch.Generator().manual_seed(0)
    angle = torch.randint(8, (20000,), generator=g) * (torch.pi / 4)
    x = torch.stack([angle.cos(), angle.sin()], 1) + 0.01 * torch.randn(20000, 2, generator=g)
    distances, index = knn.nearest(x, x, k=1)
    assert distances.max().item() == 0.0 and torch.equal(x[index[:, 0]], x)
    rows = torch.arange(0, 20000, 97)
    got, _ = knn.nearest(x, x, k=3, exclude_self=True)
    brute = torch.cdist(x[rows].double(), x.double())
    brute[torch.arange(len(rows)), rows] = torch.inf
    torch.testing.assert_close(got[rows].double(), brute.topk(3, dim=1, largest=False).values, rtol=0, atol=1e-7)
