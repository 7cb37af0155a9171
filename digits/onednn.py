"""The course CNN's conv layers on the CPU through oneDNN, the kernel library PyTorch uses.

Paddle's CPU wheel ships oneDNN (paddle/libs/libdnnl.so.3), but in dynamic mode it runs its own
im2col + GEMM conv kernels, several times slower than oneDNN's jit kernels on the course CNN
(README, "CPU speed"). This module calls oneDNN's primitives with ctypes on the Paddle tensors' own
memory, inside paddle.autograd.PyLayer functions, so Paddle's autograd chains them with every other op:

* accelerate(model): the models are written with plain paddle.nn.Conv2D, as the course writes them;
  this swaps each one for a OneDNNConv2D in place (the same object, parameters and state_dict), so
  what a student reads and edits stays the course's code, and (digits.fusion) runs each
  conv -> relu -> max-pool stage it recognises in the model's forward as one conv_relu_pool call.
  digits.training.fit calls it.
* OneDNNConv2D: a paddle.nn.Conv2D whose forward and backward are oneDNN convolutions.
* conv_relu_pool(conv, pool, x) = pool(relu(conv(x))): the fused stage. With a OneDNNConv2D and a
  MaxPool2D it runs as one oneDNN chain
  (a convolution with a ReLU post-op, then max pooling) in oneDNN's own memory layout (NHWC), and
  converts to Paddle's NCHW once, on the 4x smaller pooled output. Otherwise it is the three Paddle calls.

Same mathematics within float rounding: tests/test_onednn.py checks outputs and gradients against
nn.Conv2D, F.relu and nn.MaxPool2D. Where oneDNN cannot be loaded (a wheel without it, another OS),
available() says why and accelerate() leaves the model alone; use_onednn(False) (the --no-onednn
flag) does the same on purpose: Paddle's own kernels, as the course ran them.

How a oneDNN primitive is built and run, for a maintainer. oneDNN describes every tensor by a memory
descriptor (dims, data type, layout tag). A convolution is first described by a *primitive
descriptor*, created from the descriptors of its source, weights, bias and destination; giving the
tag `any` lets oneDNN pick the layout its fastest kernel wants, which is then queried back
(dnnl_primitive_desc_query_md). The primitive itself is created from that descriptor once per input
shape (a _ConvPlan caches them per shape). To run it, each argument (DNNL_ARG_SRC, _WEIGHTS, ...) is
bound to a dnnl_memory whose data handle is pointed at a Paddle tensor's buffer, and the primitive is
executed on a stream. Where oneDNN's chosen layout differs from Paddle's NCHW, a reorder primitive
copies between them (_Reorder). Backward primitives are created with the forward primitive descriptor
as a hint, so they agree on layouts; max pooling records its argmax in a workspace for its backward.
Everything this module reads from Paddle's private attributes is in _conv_settings, _pool_settings
and _has_hooks.
"""
import ctypes
import os

import paddle
import paddle.nn.functional as F

from .fusion import fuse_stages
from .memory import keep_freed_memory
from .threads import math_threads, use_all_cores

__all__ = ["available", "use_onednn", "using_onednn", "accelerate", "is_accelerated", "course_layer_name",
           "math_threads", "OneDNNConv2D", "conv_relu_pool"]

# Values from oneDNN 3.x's public C headers (dnnl_types.h, dnnl_common_types.h); stable within major version 3.
_CPU_ENGINE, _IN_ORDER_STREAM, _F32 = 1, 1, 3
_TAG_ANY, _TAG_X, _TAG_NCHW, _TAG_NHWC = 1, 2, 5, 22    # format tags: oneDNN chooses / 1-D / NCHW / NHWC
_FORWARD_TRAINING = 64
_CONVOLUTION_DIRECT, _RELU_USE_DST_FOR_BACKWARD, _POOLING_MAX = 0x1, 0x100, 0x1ff
_QUERY_IMPL_INFO_STR, _QUERY_EXEC_ARG_MD = 8, 255
_SRC, _DST, _WEIGHTS, _BIAS, _WORKSPACE = 1, 17, 33, 41, 64          # DNNL_ARG_* execute arguments
_DIFF_SRC, _DIFF_DST, _DIFF_WEIGHTS, _DIFF_BIAS = 129, 145, 161, 169

_Dims = ctypes.c_int64 * 12    # dnnl_dims_t
_AVX512_BIT = 0x20  # dnnl_cpu_isa_t: set in avx512_core (0x27) and every ISA above it; clear in avx2 (0x7) .. avx2_vnni_2 (0x1f)


class _ExecArg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", ctypes.c_void_p)]


class _Library:
    """libdnnl with one CPU engine and one in-order stream."""

    def __init__(self):
        lib = self.lib = ctypes.CDLL(os.path.join(os.path.dirname(paddle.__file__), "libs", "libdnnl.so.3"))
        lib.dnnl_primitive_desc_query_md.restype = ctypes.c_void_p
        lib.dnnl_primitive_desc_query_md.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        lib.dnnl_memory_desc_get_size.restype = ctypes.c_size_t
        lib.dnnl_memory_desc_get_size.argtypes = [ctypes.c_void_p]
        lib.dnnl_memory_desc_equal.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.dnnl_memory_set_data_handle.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.dnnl_primitive_execute.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.dnnl_post_ops_append_eltwise.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_float, ctypes.c_float]
        lib.dnnl_version.restype = ctypes.POINTER(ctypes.c_int * 3)
        self.avx512 = bool(lib.dnnl_get_effective_cpu_isa() & _AVX512_BIT)  # the vector units oneDNN dispatches to
        version = tuple(lib.dnnl_version().contents)
        if version[0] != 3:  # the constants above are oneDNN 3's
            raise RuntimeError(f"Paddle ships oneDNN {'.'.join(map(str, version))}; this module needs version 3")
        self.engine = self.create("engine_create", _CPU_ENGINE, ctypes.c_size_t(0))
        self.stream = self.create("stream_create", self.engine, ctypes.c_uint(_IN_ORDER_STREAM))

    def call(self, name, *args):
        status = getattr(self.lib, "dnnl_" + name)(*args)
        if status != 0:
            raise RuntimeError(f"oneDNN dnnl_{name} failed with status {status}")

    def create(self, name, *args):
        """Call a dnnl_*create* function whose first argument receives the new handle."""
        handle = ctypes.c_void_p()
        self.call(name, ctypes.byref(handle), *args)
        return handle

    def desc(self, dims, tag):
        return self.create("memory_desc_create_with_tag", len(dims), _Dims(*dims), _F32, tag)

    def same(self, desc_a, desc_b):
        return bool(self.lib.dnnl_memory_desc_equal(desc_a, desc_b))

    def relu_attr(self):
        """Primitive attributes with a ReLU post-op: dst = relu(conv(...))."""
        post_ops = self.create("post_ops_create")
        self.call("post_ops_append_eltwise", post_ops, _RELU_USE_DST_FOR_BACKWARD, 0.0, 0.0)
        attr = self.create("primitive_attr_create")
        self.call("primitive_attr_set_post_ops", attr, post_ops)
        return attr


class _Primitive:
    """One oneDNN primitive and a memory object per argument, pointed at Paddle tensors when run."""

    def __init__(self, dnnl, primitive_desc):
        self.dnnl, self.desc = dnnl, primitive_desc
        self.primitive = dnnl.create("primitive_create", primitive_desc)
        self.memories = {}

    def arg_desc(self, arg):
        return ctypes.c_void_p(self.dnnl.lib.dnnl_primitive_desc_query_md(self.desc, _QUERY_EXEC_ARG_MD, arg))

    def empty(self, arg, dtype="float32"):
        """A new Paddle buffer big enough for argument `arg` in the layout this primitive chose."""
        size = self.dnnl.lib.dnnl_memory_desc_get_size(self.arg_desc(arg))
        return paddle.empty([size // 4 if dtype == "float32" else size], dtype=dtype)

    def implementation(self):
        name = ctypes.c_char_p()
        self.dnnl.call("primitive_desc_query", self.desc, _QUERY_IMPL_INFO_STR, 0, ctypes.byref(name))
        return name.value.decode()

    def __call__(self, **tensors_by_arg):
        args = (_ExecArg * len(tensors_by_arg))()
        for i, (name, tensor) in enumerate(tensors_by_arg.items()):
            arg = _ARGS[name]
            if arg not in self.memories:
                self.memories[arg] = self.dnnl.create("memory_create", self.arg_desc(arg), self.dnnl.engine,
                                                      ctypes.c_void_p(None))
            self.dnnl.lib.dnnl_memory_set_data_handle(self.memories[arg], tensor.data_ptr())
            args[i].arg, args[i].memory = arg, self.memories[arg]
        self.dnnl.call("primitive_execute", self.primitive, self.dnnl.stream, len(tensors_by_arg), args)
        self.dnnl.call("stream_wait", self.dnnl.stream)


_ARGS = {"src": _SRC, "dst": _DST, "weights": _WEIGHTS, "bias": _BIAS, "workspace": _WORKSPACE,
         "diff_src": _DIFF_SRC, "diff_dst": _DIFF_DST, "diff_weights": _DIFF_WEIGHTS, "diff_bias": _DIFF_BIAS}


class _Reorder:
    """Copy a tensor from one memory layout to another; a no-op when oneDNN chose the same layout."""

    def __init__(self, dnnl, source_desc, target_desc):
        self.same = dnnl.same(source_desc, target_desc)
        if not self.same:
            self.primitive = _Primitive(dnnl, dnnl.create("reorder_primitive_desc_create", source_desc, dnnl.engine,
                                                          target_desc, dnnl.engine, None))

    def __call__(self, tensor, shape=None):
        if self.same:
            return tensor if shape is None else tensor.reshape(shape)
        target = paddle.empty(shape, "float32") if shape else self.primitive.empty(_DST)
        self.primitive(src=tensor, dst=target)
        return target


class _ConvPlan:
    """oneDNN convolution primitives (forward, backward data, backward weights) for one input shape.

    relu=True adds a ReLU post-op to the forward: it then returns relu(conv(x)) in oneDNN's chosen
    layout (for pooling), and backward takes the gradient in that layout."""

    def __init__(self, dnnl, input_shape, out_channels, kernel, stride, padding, relu=False):
        batch, channels, height, width = input_shape
        out_h = (height + 2 * padding[0] - kernel[0]) // stride[0] + 1
        out_w = (width + 2 * padding[1] - kernel[1]) // stride[1] + 1
        self.input_shape = list(input_shape)
        self.weight_shape = [out_channels, channels, *kernel]
        self.output_shape = [batch, out_channels, out_h, out_w]
        shapes = {"src": self.input_shape, "weights": self.weight_shape, "bias": [out_channels],
                  "dst": self.output_shape}
        plain = {role: dnnl.desc(shape, _TAG_X if role == "bias" else _TAG_NCHW) for role, shape in shapes.items()}
        # Activations in NHWC: oneDNN's brgemm kernels then run on the 20 real channels where its blocked layout
        # pads them to 32 (AVX-512) or 24 (AVX2). A 1-channel input on an AVX-512 processor is the exception:
        # its blocked kernels measured faster there; on AVX2 its blocked weight gradient is the slowest call of
        # an epoch, and NHWC is faster (README, "CPU speed"). The choice depends only on the processor, so a
        # seed still gives the same run on the same machine.
        activations = _TAG_ANY if channels == 1 and dnnl.avx512 else _TAG_NHWC
        any_ = {role: dnnl.desc(shape, activations if role in ("src", "dst") else _TAG_ANY)
                for role, shape in shapes.items()}
        geometry = (_Dims(*stride), _Dims(0, 0), _Dims(*padding), _Dims(*padding))  # strides, dilations, pads
        forward_desc = dnnl.create("convolution_forward_primitive_desc_create", dnnl.engine, _FORWARD_TRAINING,
                                   _CONVOLUTION_DIRECT, any_["src"], any_["weights"], any_["bias"], any_["dst"],
                                   *geometry, dnnl.relu_attr() if relu else None)
        self.forward = _Primitive(dnnl, forward_desc)
        self.backward_data = _Primitive(dnnl, dnnl.create(
            "convolution_backward_data_primitive_desc_create", dnnl.engine, _CONVOLUTION_DIRECT,
            any_["src"], any_["weights"], any_["dst"], *geometry, forward_desc, None))
        self.backward_weights = _Primitive(dnnl, dnnl.create(
            "convolution_backward_weights_primitive_desc_create", dnnl.engine, _CONVOLUTION_DIRECT,
            any_["src"], any_["weights"], any_["bias"], any_["dst"], *geometry, forward_desc, None))
        self.plain_dst_desc, self.dst_desc = plain["dst"], self.forward.arg_desc(_DST)
        # the gradient arrives in Paddle's layout (plain conv) or in the forward dst layout (after pooling)
        grad_desc = self.dst_desc if relu else plain["dst"]
        fwd, data, weights = self.forward.arg_desc, self.backward_data.arg_desc, self.backward_weights.arg_desc
        self.src_in = _Reorder(dnnl, plain["src"], fwd(_SRC))
        self.weights_in = _Reorder(dnnl, plain["weights"], fwd(_WEIGHTS))
        self.bias_in = _Reorder(dnnl, plain["bias"], fwd(_BIAS))
        self.src_for_weights = _Reorder(dnnl, fwd(_SRC), weights(_SRC))
        self.weights_for_data = _Reorder(dnnl, plain["weights"], data(_WEIGHTS))
        self.grad_for_data = _Reorder(dnnl, grad_desc, data(_DIFF_DST))
        self.grad_for_weights = _Reorder(dnnl, grad_desc, weights(_DIFF_DST))
        self.input_grad_out = _Reorder(dnnl, data(_DIFF_SRC), plain["src"])
        self.weight_grad_out = _Reorder(dnnl, weights(_DIFF_WEIGHTS), plain["weights"])
        self.bias_grad_out = _Reorder(dnnl, weights(_DIFF_BIAS), plain["bias"])

    def implementations(self):
        return {name: primitive.implementation() for name, primitive in
                (("forward", self.forward), ("backward data", self.backward_data),
                 ("backward weights", self.backward_weights))}

    def run_forward(self, x, weight, bias):
        """(dst in oneDNN's layout, src as backward-weights wants it)."""
        src = self.src_in(x)
        dst = self.forward.empty(_DST)
        self.forward(src=src, weights=self.weights_in(weight), bias=self.bias_in(bias), dst=dst)
        return dst, self.src_for_weights(src)

    def run_backward(self, saved_src, weight, grad, needs_input_grad):
        """(input grad or None, weight grad, bias grad), all in Paddle's layout."""
        input_grad = None
        if needs_input_grad:
            diff_src = self.backward_data.empty(_DIFF_SRC)
            self.backward_data(diff_dst=self.grad_for_data(grad), weights=self.weights_for_data(weight),
                               diff_src=diff_src)
            input_grad = self.input_grad_out(diff_src, self.input_shape)
        diff_weights, diff_bias = self.backward_weights.empty(_DIFF_WEIGHTS), self.backward_weights.empty(_DIFF_BIAS)
        self.backward_weights(src=saved_src, diff_dst=self.grad_for_weights(grad), diff_weights=diff_weights,
                              diff_bias=diff_bias)
        return (input_grad, self.weight_grad_out(diff_weights, self.weight_shape),
                self.bias_grad_out(diff_bias, [self.weight_shape[0]]))


class _ConvReluPoolPlan:
    """max_pool(relu(conv(x))) for one input shape, kept in oneDNN's layout between the three steps."""

    def __init__(self, dnnl, input_shape, out_channels, kernel, stride, padding, pool_kernel, pool_stride):
        self.conv = _ConvPlan(dnnl, input_shape, out_channels, kernel, stride, padding, relu=True)
        batch, channels, height, width = self.conv.output_shape
        self.output_shape = [batch, channels, (height - pool_kernel[0]) // pool_stride[0] + 1,
                             (width - pool_kernel[1]) // pool_stride[1] + 1]
        plain_out = dnnl.desc(self.output_shape, _TAG_NCHW)
        geometry = (_Dims(*pool_stride), _Dims(*pool_kernel), _Dims(0, 0), _Dims(0, 0), _Dims(0, 0))
        pool_desc = dnnl.create("pooling_forward_primitive_desc_create", dnnl.engine, _FORWARD_TRAINING,
                                _POOLING_MAX, self.conv.dst_desc, dnnl.desc(self.output_shape, _TAG_ANY),
                                *geometry, None)
        self.pool = _Primitive(dnnl, pool_desc)
        self.pool_backward = _Primitive(dnnl, dnnl.create(
            "pooling_backward_primitive_desc_create", dnnl.engine, _POOLING_MAX, self.conv.dst_desc,
            self.pool.arg_desc(_DST), *geometry, pool_desc, None))
        # ReLU's backward runs on the pooled tensor, 4x smaller than the conv output and exactly equivalent:
        # max pooling passes each window's gradient to its maximum, and relu(conv) is positive there
        # exactly when the pooled value is.
        pooled_desc = self.pool.arg_desc(_DST)
        relu_hint = dnnl.create("eltwise_forward_primitive_desc_create", dnnl.engine, _FORWARD_TRAINING,
                                _RELU_USE_DST_FOR_BACKWARD, pooled_desc, pooled_desc,
                                ctypes.c_float(0), ctypes.c_float(0), None)
        self.relu_backward = _Primitive(dnnl, dnnl.create(
            "eltwise_backward_primitive_desc_create", dnnl.engine, _RELU_USE_DST_FOR_BACKWARD,
            pooled_desc, pooled_desc, pooled_desc, ctypes.c_float(0), ctypes.c_float(0), relu_hint, None))
        self.pooled_out = _Reorder(dnnl, pooled_desc, plain_out)
        self.grad_in = _Reorder(dnnl, plain_out, pooled_desc)
        self.pooled_grad_for_pool = _Reorder(dnnl, pooled_desc, self.pool_backward.arg_desc(_DIFF_DST))

    def run_forward(self, x, weight, bias):
        """(pooled output in Paddle's layout, what backward needs)."""
        activation, saved_src = self.conv.run_forward(x, weight, bias)
        pooled, workspace = self.pool.empty(_DST), self.pool.empty(_WORKSPACE, dtype="uint8")
        self.pool(src=activation, dst=pooled, workspace=workspace)
        return self.pooled_out(pooled, self.output_shape), (saved_src, pooled, workspace)

    def run_backward(self, saved, weight, grad, needs_input_grad):
        saved_src, pooled, workspace = saved
        pooled_grad = self.relu_backward.empty(_DIFF_SRC)
        self.relu_backward(dst=pooled, diff_dst=self.grad_in(grad), diff_src=pooled_grad)
        conv_grad = self.pool_backward.empty(_DIFF_SRC)
        self.pool_backward(diff_dst=self.pooled_grad_for_pool(pooled_grad), workspace=workspace, diff_src=conv_grad)
        return self.conv.run_backward(saved_src, weight, conv_grad, needs_input_grad)


class _OneDNNFunction(paddle.autograd.PyLayer):
    """Autograd node for a plan: forward(x, weight, bias) -> out; backward -> grads of x, weight, bias."""

    @staticmethod
    def forward(ctx, x, weight, bias, plan):
        out, saved = plan.run_forward(x, weight, bias)
        ctx.plan, ctx.saved, ctx.needs_input_grad = plan, saved, not x.stop_gradient
        ctx.save_for_backward(weight)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (weight,) = ctx.saved_tensor()
        return ctx.plan.run_backward(ctx.saved, weight, grad_output.contiguous(), ctx.needs_input_grad)


class _PlainConvPlan(_ConvPlan):
    """_ConvPlan with its output converted to Paddle's layout: the plan behind OneDNNConv2D alone."""

    def __init__(self, dnnl, *shape_and_geometry):
        super().__init__(dnnl, *shape_and_geometry)
        self.dst_out = _Reorder(dnnl, self.dst_desc, self.plain_dst_desc)

    def run_forward(self, x, weight, bias):
        dst, saved_src = super().run_forward(x, weight, bias)
        return self.dst_out(dst, self.output_shape), saved_src


# Paddle's private attributes this module relies on, read in these three places only.
def _conv_settings(conv):
    """A Conv2D's geometry, from Paddle's private attributes: (oneDNN can run it, out channels, kernel,
    stride, padding)."""
    runnable = (conv._groups == 1 and list(conv._dilation) == [1, 1] and conv._data_format == "NCHW"
                and conv._padding_mode == "zeros" and conv._padding_algorithm == "EXPLICIT"
                and len(conv._updated_padding) == 2 and conv.bias is not None)
    return (runnable, conv._out_channels, tuple(conv._kernel_size), tuple(conv._stride),
            tuple(conv._updated_padding))


def _pool_settings(pool):
    """(a plain 2-D max pool oneDNN can run, kernel, stride) of a MaxPool2D."""
    plain = (type(pool) is paddle.nn.MaxPool2D and pool.padding == 0 and not pool.ceil_mode
             and not pool.return_mask and pool.data_format == "NCHW")
    return plain, _pair(pool.ksize), _pair(pool.stride if pool.stride is not None else pool.ksize)


def _has_hooks(layer):
    return bool(layer._forward_pre_hooks or layer._forward_post_hooks)


class OneDNNConv2D(paddle.nn.Conv2D):
    """paddle.nn.Conv2D (NCHW, float32, groups=1, dilation=1, zero padding) computed by oneDNN on the CPU.

    Same constructor arguments, parameters and state_dict as paddle.nn.Conv2D(in, out, k, stride, padding);
    other configurations and non-CPU tensors fall back to paddle.nn.Conv2D's own forward. accelerate()
    turns an existing nn.Conv2D into one without copying anything.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        loaded, reason = available()
        if not loaded:
            raise RuntimeError(reason)
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        self._plans = {}

    def supports(self, x):
        """Whether oneDNN runs this call: an eager CPU float32 tensor (not paddle.jit.to_static's tracing,
        which records Paddle's conv2d op instead, so exported models need no oneDNN)."""
        return (paddle.in_dynamic_mode() and x.dtype == paddle.float32 and x.place.is_cpu_place() and x.ndim == 4
                and _conv_settings(self)[0])

    def plan(self, x, plan_class=_PlainConvPlan, *extra):
        """The oneDNN primitives for x's shape (built once per shape: the last, smaller batch gets its own)."""
        key = (plan_class, tuple(x.shape), *extra)
        if key not in self._plans:
            _, out_channels, kernel, stride, padding = _conv_settings(self)
            self._plans[key] = plan_class(_library, tuple(x.shape), out_channels, kernel, stride, padding, *extra)
        return self._plans[key]

    def forward(self, x):
        if not self.supports(x):
            # the base class named, not super(): Paddle 2.6's to_static runs a rewritten copy of this method,
            # in which a zero-argument super() fails ("super(): no arguments")
            return paddle.nn.Conv2D.forward(self, x)
        return _OneDNNFunction.apply(x.contiguous(), self.weight, self.bias, self.plan(x))


def accelerate(model, fuse=True):
    """Swap `model`'s paddle.nn.Conv2D layers for OneDNNConv2D in place and return the model; with `fuse`, also
    run each conv -> relu -> max-pool stage of its forward as one oneDNN chain (digits.fusion.fuse_stages).

    Each layer keeps its identity, parameters and state_dict (only its class changes), so an optimizer
    built before still updates the same tensors and checkpoints interchange. Nothing changes when
    use_onednn(False) was called, oneDNN cannot be loaded here, or Paddle's device is not the CPU (a GPU
    build ships oneDNN too, but these kernels read the tensors' memory as host memory). The first swap also
    gives Paddle one thread per usable core, unless the user set OMP_NUM_THREADS (Paddle's own default is
    one thread), and keeps freed memory for the next batch (digits.memory)."""
    if not using_onednn() or not paddle.get_device().startswith("cpu"):
        return model
    for layer in model.sublayers(include_self=True):
        if type(layer) is paddle.nn.Conv2D:
            layer.__class__ = OneDNNConv2D
            layer._plans = {}
    if fuse:
        for layer in model.sublayers(include_self=True):
            if any(isinstance(child, paddle.nn.Conv2D) for child in layer.children()):
                fuse_stages(layer, conv_relu_pool)
    use_all_cores()
    keep_freed_memory()
    return model


def is_accelerated(model):
    return any(isinstance(layer, OneDNNConv2D) for layer in model.sublayers(include_self=True))


def course_layer_name(layer):
    """The Paddle class a layer is (Conv2D for an accelerated conv): what the course's print-outs name."""
    return next(c.__name__ for c in type(layer).__mro__ if c.__module__.startswith("paddle."))


def conv_relu_pool(conv, pool, x):
    """pool(relu(conv(x))); one oneDNN chain when conv is a OneDNNConv2D and pool a plain 2-D max pool
    (and no forward hook, such as digits.debug's Inspector, needs to see the conv's own output)."""
    plain_pool, kernel, stride = _pool_settings(pool)
    if (isinstance(conv, OneDNNConv2D) and conv.supports(x) and plain_pool
            and not _has_hooks(conv) and not _has_hooks(pool)):
        plan = conv.plan(x, _ConvReluPoolPlan, kernel, stride)
        return _OneDNNFunction.apply(x.contiguous(), conv.weight, conv.bias, plan)
    return pool(F.relu(conv(x)))


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


_library = None
_load_error = None
_enabled = True


def available():
    """(True, "") if oneDNN convolutions can run here, else (False, the reason). Loads the library once."""
    global _library, _load_error
    if _library is None and _load_error is None:
        try:
            _library = _Library()
        except (OSError, AttributeError, RuntimeError) as error:
            _load_error = f"oneDNN not usable here ({type(error).__name__}: {error})"
    return _library is not None, _load_error or ""


def use_onednn(enabled):
    """Whether accelerate() swaps in oneDNN layers from now on (False: Paddle's own kernels, --no-onednn)."""
    global _enabled
    _enabled = bool(enabled)


def using_onednn():
    """Whether accelerate() now swaps layers: enabled, and oneDNN loads here."""
    return _enabled and available()[0]
