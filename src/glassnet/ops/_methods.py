"""Ops that are also ``Tensor`` methods: ``x.cumsum(0)`` is ``ops.cumsum(x, 0)``."""

_NAMES = """
add sub mul neg matmul pow erf erfc erfinv expm1 exp2 log2 log10 tan asin acos atan arcsin
arccos arctan sinh cosh asinh acosh atanh arcsinh arccosh arctanh atan2 arctan2 hypot floor
ceil round trunc fix sign sgn frac fmod remainder floor_divide div divide true_divide lerp
reciprocal logaddexp logaddexp2 clamp_min clamp_max xlogy logit nan_to_num deg2rad rad2deg
float_power negative absolute multiply subtract isnan isinf isfinite isposinf isneginf
isclose allclose equal eq ne lt le gt ge logical_and logical_or logical_xor logical_not
bitwise_and bitwise_or bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift
signbit nonzero count_nonzero argsort unique cumsum cumprod cummax cummin logcumsumexp sort
msort topk kthvalue median nanmedian mode amax amin aminmax flip fliplr flipud roll rot90
tril triu diagonal diag_embed diag index_select masked_fill masked_select take
take_along_dim scatter scatter_add scatter_reduce index_add index_copy index_fill chunk
tensor_split unbind narrow select movedim moveaxis swapdims unflatten ravel unfold
outer ger mm bmm mv dot inner addmm baddbmm addmv dist
"""

TENSOR_METHODS = tuple(_NAMES.split())
