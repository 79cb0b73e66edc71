"""The distributions, values and KL pairs compared with PyTorch: shared by
record_torch_values.py (run under torch once, writes torch_values.json) and
test_more_values.py (run under glassnet). ``D`` is the distributions module and ``T`` makes a
float64 tensor from a list, in either framework."""

LOC = [-0.5, 1.25]
SCALE = [0.75, 2.0]
X = [[0.3, 1.7], [-1.2, 0.4], [2.5, -0.6]]
POS = [[0.3, 1.7], [1.2, 0.4], [2.5, 0.6]]
UNIT = [[0.1, 0.35], [0.6, 0.9], [0.45, 0.02]]
COUNTS = [[0.0, 3.0], [2.0, 1.0], [5.0, 0.0]]
P = [0.3, 0.8]
ALPHA = [[0.7, 2.0, 3.5], [1.5, 0.4, 0.9]]
SIMPLEX = [[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]
PROBS3 = [[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]
SUBUNIT = [[0.1, 0.5], [0.9, 0.25]]


def _sac(D, T):
    return D.TransformedDistribution(D.Normal(T(LOC), T(SCALE)), [D.TanhTransform()])


def _sac_independent(D, T):
    base = D.Independent(D.Normal(T([LOC, SCALE]), T([SCALE, SCALE])), 1)
    return D.TransformedDistribution(base, D.TanhTransform(cache_size=1))


def _affine(D, T):
    transforms = [D.AffineTransform(T([1.0, -2.0]), T([0.5, -3.0])), D.ExpTransform()]
    return D.TransformedDistribution(D.Normal(T(LOC), T(SCALE)), transforms)


def _sigmoid(D, T):
    return D.TransformedDistribution(D.Normal(T(LOC), T(SCALE)), D.SigmoidTransform())


def _compose(D, T):
    chain = D.ComposeTransform([D.AffineTransform(0.5, 2.0), D.TanhTransform()])
    return D.TransformedDistribution(D.Normal(T(LOC), T(SCALE)), chain)


def _mixture(D, T):
    mix = D.Categorical(probs=T([0.3, 0.7]))
    return D.MixtureSameFamily(mix, D.Normal(T(LOC), T(SCALE)))


def _mixture_mvn(D, T):
    mix = D.Categorical(logits=T([[0.1, -0.4], [1.0, 0.0]]))
    comps = D.Independent(
        D.Normal(
            T([[[0.0, 1.0], [2.0, -1.0]], [[0.5, 0.5], [-1.0, 3.0]]]),
            T([[[1.0, 0.5], [2.0, 1.5]], [[0.7, 1.1], [0.3, 2.0]]]),
        ),
        1,
    )
    return D.MixtureSameFamily(mix, comps)


UNIVARIATE = ["log_prob", "entropy", "mean", "variance", "stddev", "mode"]

# name: (make, value for log_prob / cdf, methods, value for icdf or None)
CASES = {
    "LogNormal": (lambda D, T: D.LogNormal(T(LOC), T(SCALE)), POS, UNIVARIATE + ["cdf"], UNIT),
    "HalfNormal": (lambda D, T: D.HalfNormal(T(SCALE)), POS, UNIVARIATE + ["cdf"], UNIT),
    "Gumbel": (lambda D, T: D.Gumbel(T(LOC), T(SCALE)), X, UNIVARIATE + ["cdf"], UNIT),
    "Laplace": (lambda D, T: D.Laplace(T(LOC), T(SCALE)), X, UNIVARIATE + ["cdf"], UNIT),
    "Cauchy": (lambda D, T: D.Cauchy(T(LOC), T(SCALE)), X, UNIVARIATE + ["cdf"], UNIT),
    "StudentT": (lambda D, T: D.StudentT(T([0.5, 1.5]), T(LOC), T(SCALE)), X, UNIVARIATE, None),
    "StudentT3": (lambda D, T: D.StudentT(T([3.0, 7.5]), T(LOC), T(SCALE)), X, UNIVARIATE, None),
    "Poisson": (
        lambda D, T: D.Poisson(T([0.5, 4.2])),
        COUNTS,
        ["log_prob", "mean", "variance", "mode"],
        None,
    ),
    "Geometric": (lambda D, T: D.Geometric(T(P)), COUNTS, UNIVARIATE, None),
    "GeometricLogits": (lambda D, T: D.Geometric(logits=T([-1.0, 2.0])), COUNTS, UNIVARIATE, None),
    "Binomial": (lambda D, T: D.Binomial(5, T(P)), COUNTS, UNIVARIATE, None),
    "BinomialLogits": (
        lambda D, T: D.Binomial(T([5.0, 5.0]), logits=T([-30.0, 2.0])),
        COUNTS,
        UNIVARIATE,
        None,
    ),
    "Multinomial": (
        lambda D, T: D.Multinomial(6, T(PROBS3)),
        [[1.0, 2.0, 3.0], [6.0, 0.0, 0.0]],
        ["log_prob", "entropy", "mean", "variance", "stddev"],
        None,
    ),
    "Dirichlet": (lambda D, T: D.Dirichlet(T(ALPHA)), SIMPLEX, UNIVARIATE, None),
    "DirichletBelowOne": (
        lambda D, T: D.Dirichlet(T([[0.5, 0.3, 0.9], [0.2, 3.0, 0.4]])),
        SIMPLEX,
        UNIVARIATE,
        None,
    ),
    "GeometricEdge": (lambda D, T: D.Geometric(T([1.0, 0.5])), COUNTS, UNIVARIATE, None),
    "BinomialEdge": (lambda D, T: D.Binomial(5, T([0.0, 1.0])), COUNTS, ["log_prob", "mode"], None),
    "RelaxedBernoulli": (
        lambda D, T: D.RelaxedBernoulli(T([0.5]), probs=T(P)),
        UNIT,
        ["log_prob"],
        None,
    ),
    "RelaxedBernoulliLogits": (
        lambda D, T: D.RelaxedBernoulli(T([2.0]), logits=T([-1.0, 3.0])),
        UNIT,
        ["log_prob"],
        None,
    ),
    "RelaxedOneHotCategorical": (
        lambda D, T: D.RelaxedOneHotCategorical(T([0.7]), probs=T(PROBS3)),
        SIMPLEX,
        ["log_prob"],
        None,
    ),
    "TanhNormal": (_sac, SUBUNIT, ["log_prob", "cdf"], UNIT),
    "TanhIndependentNormal": (_sac_independent, SUBUNIT, ["log_prob"], None),
    "AffineExpNormal": (_affine, POS, ["log_prob", "cdf"], UNIT),
    "SigmoidNormal": (_sigmoid, UNIT, ["log_prob", "cdf"], UNIT),
    "ComposeNormal": (_compose, SUBUNIT, ["log_prob", "cdf"], UNIT),
    "Mixture": (_mixture, [0.3, -1.2, 2.5], ["log_prob", "mean", "variance", "cdf"], None),
    "MixtureMVN": (
        _mixture_mvn,
        [[[0.3, 1.7], [-1.2, 0.4]]],
        ["log_prob", "mean", "variance"],
        None,
    ),
}

# name: (make p, make q)
KL_PAIRS = {
    "Binomial": (lambda D, T: D.Binomial(5, T(P)), lambda D, T: D.Binomial(5, T([0.6, 0.1]))),
    "BinomialInf": (
        lambda D, T: D.Binomial(T([5.0, 7.0]), T(P)),
        lambda D, T: D.Binomial(5, T([0.6, 0.1])),
    ),
    "Dirichlet": (lambda D, T: D.Dirichlet(T(ALPHA)), lambda D, T: D.Dirichlet(T(SIMPLEX))),
    "Gumbel": (lambda D, T: D.Gumbel(T(LOC), T(SCALE)), lambda D, T: D.Gumbel(0.3, T([1.0, 0.5]))),
    "Geometric": (lambda D, T: D.Geometric(T(P)), lambda D, T: D.Geometric(T([0.5, 0.1]))),
    "HalfNormal": (lambda D, T: D.HalfNormal(T(SCALE)), lambda D, T: D.HalfNormal(T([1.0, 0.3]))),
    "Laplace": (
        lambda D, T: D.Laplace(T(LOC), T(SCALE)),
        lambda D, T: D.Laplace(0.3, T([1.0, 0.5])),
    ),
    "Poisson": (lambda D, T: D.Poisson(T([0.5, 4.2])), lambda D, T: D.Poisson(T([1.5, 0.2]))),
    "Cauchy": (lambda D, T: D.Cauchy(T(LOC), T(SCALE)), lambda D, T: D.Cauchy(0.3, T([1.0, 0.5]))),
    "Uniform": (
        lambda D, T: D.Uniform(T([0.0, -1.0]), T([1.0, 2.0])),
        lambda D, T: D.Uniform(T([-0.5, 0.0]), T([1.5, 3.0])),
    ),
    "LogNormal": (
        lambda D, T: D.LogNormal(T(LOC), T(SCALE)),
        lambda D, T: D.LogNormal(0.3, T([1.0, 0.5])),
    ),
    "BernoulliPoisson": (lambda D, T: D.Bernoulli(T(P)), lambda D, T: D.Poisson(T([1.5, 0.2]))),
    "BetaExponential": (
        lambda D, T: D.Beta(T([0.7, 2.0]), T([1.5, 0.4])),
        lambda D, T: D.Exponential(T([1.5, 0.2])),
    ),
    "BetaGamma": (
        lambda D, T: D.Beta(T([0.7, 2.0]), T([1.5, 0.4])),
        lambda D, T: D.Gamma(T([2.0, 0.5]), T([1.5, 0.2])),
    ),
    "BetaNormal": (
        lambda D, T: D.Beta(T([0.7, 2.0]), T([1.5, 0.4])),
        lambda D, T: D.Normal(T(LOC), T(SCALE)),
    ),
    "BetaUniform": (
        lambda D, T: D.Beta(T([0.7, 2.0]), T([1.5, 0.4])),
        lambda D, T: D.Uniform(T([-0.5, 0.5]), T([1.5, 3.0])),
    ),
    "ExponentialGamma": (
        lambda D, T: D.Exponential(T([1.5, 0.2])),
        lambda D, T: D.Gamma(T([2.0, 0.5]), T([1.5, 0.2])),
    ),
    "ExponentialGumbel": (
        lambda D, T: D.Exponential(T([1.5, 0.2])),
        lambda D, T: D.Gumbel(T(LOC), T(SCALE)),
    ),
    "ExponentialNormal": (
        lambda D, T: D.Exponential(T([1.5, 0.2])),
        lambda D, T: D.Normal(T(LOC), T(SCALE)),
    ),
    "ExponentialUniform": (
        lambda D, T: D.Exponential(T([1.5, 0.2])),
        lambda D, T: D.Uniform(T([0.0, 0.5]), T([1.5, 3.0])),
    ),
    "GammaExponential": (
        lambda D, T: D.Gamma(T([2.0, 0.5]), T([1.5, 0.2])),
        lambda D, T: D.Exponential(T([1.5, 0.2])),
    ),
    "GammaGumbel": (
        lambda D, T: D.Gamma(T([2.0, 0.5]), T([1.5, 0.2])),
        lambda D, T: D.Gumbel(T(LOC), T(SCALE)),
    ),
    "GammaNormal": (
        lambda D, T: D.Gamma(T([2.0, 0.5]), T([1.5, 0.2])),
        lambda D, T: D.Normal(T(LOC), T(SCALE)),
    ),
    "GumbelNormal": (
        lambda D, T: D.Gumbel(T(LOC), T(SCALE)),
        lambda D, T: D.Normal(T([0.3, -1.0]), T([1.0, 0.5])),
    ),
    "GumbelBeta": (
        lambda D, T: D.Gumbel(T(LOC), T(SCALE)),
        lambda D, T: D.Beta(T([0.7, 2.0]), T([1.5, 0.4])),
    ),
    "LaplaceNormal": (
        lambda D, T: D.Laplace(T(LOC), T(SCALE)),
        lambda D, T: D.Normal(T([0.3, -1.0]), T([1.0, 0.5])),
    ),
    "LaplaceGamma": (
        lambda D, T: D.Laplace(T(LOC), T(SCALE)),
        lambda D, T: D.Gamma(T([2.0, 0.5]), T([1.5, 0.2])),
    ),
    "NormalGumbel": (
        lambda D, T: D.Normal(T(LOC), T(SCALE)),
        lambda D, T: D.Gumbel(T([0.3, -1.0]), T([1.0, 0.5])),
    ),
    "NormalLaplace": (
        lambda D, T: D.Normal(T(LOC), T(SCALE)),
        lambda D, T: D.Laplace(T([0.3, -1.0]), T([1.0, 0.5])),
    ),
    "NormalExponential": (
        lambda D, T: D.Normal(T(LOC), T(SCALE)),
        lambda D, T: D.Exponential(T([1.5, 0.2])),
    ),
    "PoissonBinomial": (lambda D, T: D.Poisson(T([0.5, 4.2])), lambda D, T: D.Binomial(5, T(P))),
    "UniformBeta": (
        lambda D, T: D.Uniform(T([0.1, 0.2]), T([0.5, 1.5])),
        lambda D, T: D.Beta(T([0.7, 2.0]), T([1.5, 0.4])),
    ),
    "UniformExponential": (
        lambda D, T: D.Uniform(T([0.1, -0.2]), T([0.5, 1.5])),
        lambda D, T: D.Exponential(T([1.5, 0.2])),
    ),
    "UniformGamma": (
        lambda D, T: D.Uniform(T([0.1, 0.2]), T([0.5, 1.5])),
        lambda D, T: D.Gamma(T([2.0, 0.5]), T([1.5, 0.2])),
    ),
    "UniformGumbel": (
        lambda D, T: D.Uniform(T([0.1, 0.2]), T([0.5, 1.5])),
        lambda D, T: D.Gumbel(T(LOC), T(SCALE)),
    ),
    "UniformNormal": (
        lambda D, T: D.Uniform(T([0.1, 0.2]), T([0.5, 1.5])),
        lambda D, T: D.Normal(T(LOC), T(SCALE)),
    ),
}
