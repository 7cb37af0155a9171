"""Find the conv -> ReLU -> max-pool stages in a model's forward and run each as one oneDNN chain.

The course writes a stage as three statements, each rebinding one name:

    x = self.conv1(inputs)
    x = F.relu(x)
    x = self.pool1(x)

fuse_stages(model, conv_relu_pool) reads the forward of the model's class (its source, parsed with `ast`),
replaces each such triple by one statement, `x = conv_relu_pool(self.conv1, self.pool1, inputs)` (the
function given: digits.onednn's, which accelerate() passes), and
gives this model, and only it, the rewritten forward. Nothing outside the triple can see the
difference: its two middle values are bound to the name the third statement overwrites, and
conv_relu_pool computes pool(relu(conv(x))), or makes those three calls itself whenever it cannot
fuse them (a layer replaced later, a forward hook such as digits.debug's, a non-CPU tensor).

Everything else in the forward runs as written. A student's edit of the class (another activation, a
print between the layers, another order) is not a recognised stage and runs unfused, as edited. When
the source cannot be read or rewritten safely (no source file, a decorator, super() or another
closure, keywords in a call, a ReLU that is a layer, which could be swapped later), the model keeps its
own forward. The rewritten function keeps the source's file name and line numbers, so a traceback
points at the lines the student wrote, and paddle.jit.to_static, which reads a function's source from
its file and line, converts the class's own forward (exports record Paddle's plain ops).
"""
import ast
import inspect
import textwrap

import paddle
import paddle.nn.functional as F

__all__ = ["fuse_stages", "fused_stages"]


def fuse_stages(model, conv_relu_pool):
    """Give `model` a forward with each recognised conv -> relu -> max-pool stage as one call of
    conv_relu_pool(conv, pool, x), which must compute pool(relu(conv(x))). Returns the (conv, pool) attribute
    names of the fused stages, in order; [] leaves the model as it was."""
    function = getattr(type(model), "forward", None)
    tree = _parse(function)
    if tree is None:
        return []
    definition = tree.body[0]
    body, stages = _rewrite(definition.body, model, function.__globals__)
    if not stages:
        return []
    definition.body = body
    # Nested in a maker, so that conv_relu_pool reaches the new function as a closure variable: the function's
    # globals stay its module's own, unchanged.
    module = ast.parse("def _make_fused_forward(_conv_relu_pool):\n    pass\n")
    module.body[0].body = [definition, ast.Return(value=ast.Name(id=definition.name, ctx=ast.Load()))]
    ast.fix_missing_locations(module)
    namespace = {}
    exec(compile(module, function.__code__.co_filename, "exec"), function.__globals__, namespace)
    fused = namespace["_make_fused_forward"](conv_relu_pool)
    model.forward = fused.__get__(model)  # this instance only: another model of the class stays unfused
    model._fused_stages = stages
    return stages


def fused_stages(model):
    """The (conv, pool) names fuse_stages fused in `model`, or []."""
    return list(model.__dict__.get("_fused_stages", []))


def _parse(function):
    """The function's definition as an ast.Module, its line numbers those of its file; None if it cannot be read
    or is not a plain method (decorated, or using super() or other closure variables)."""
    if not inspect.isfunction(function) or function.__code__.co_freevars:
        return None
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef) or tree.body[0].decorator_list:
        return None
    ast.increment_lineno(tree, function.__code__.co_firstlineno - 1)
    return tree


def _rewrite(statements, model, namespace):
    """(statements with each recognised triple replaced by one conv_relu_pool call, the fused (conv, pool) names).
    Only the function's top-level statements are read: a stage inside an `if` or a loop stays as written."""
    rewritten, stages, i = [], [], 0
    while i < len(statements):
        stage = _stage(statements[i:i + 3], model, namespace)
        if stage is None:
            rewritten.append(statements[i])
            i += 1
            continue
        name, conv, pool, argument = stage
        call = ast.Call(func=ast.Name(id="_conv_relu_pool", ctx=ast.Load()),
                        args=[_self_attribute(conv), _self_attribute(pool), argument], keywords=[])
        rewritten.append(ast.copy_location(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=call),
                                           statements[i]))
        stages.append((conv, pool))
        i += 3
    return rewritten, stages


def _stage(statements, model, namespace):
    """(name, conv attribute, pool attribute, the conv's argument) if these three statements are
    `name = self.<Conv2D>(argument)`, `name = F.relu(name)`, `name = self.<plain MaxPool2D>(name)`; else None."""
    if len(statements) != 3:
        return None
    first, second, third = (_assigned_call(statement) for statement in statements)
    if None in (first, second, third):
        return None
    name = first[0]
    if second[0] != name or third[0] != name or not _is_name(second[2], name) or not _is_name(third[2], name):
        return None
    conv, pool = _self_layer(first[1]), _self_layer(third[1])
    if conv is None or pool is None or _resolve(second[1], namespace) is not F.relu:
        return None
    if not isinstance(getattr(model, conv, None), paddle.nn.Conv2D):
        return None
    if type(getattr(model, pool, None)) is not paddle.nn.MaxPool2D:
        return None
    return name, conv, pool, first[2]


def _assigned_call(statement):
    """(target name, called expression, the one positional argument) for `name = f(argument)`, else None."""
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name) and isinstance(statement.value, ast.Call)):
        return None
    call = statement.value
    if len(call.args) != 1 or call.keywords or isinstance(call.args[0], ast.Starred):
        return None
    return statement.targets[0].id, call.func, call.args[0]


def _is_name(node, name):
    return isinstance(node, ast.Name) and node.id == name


def _self_layer(node):
    """'conv1' for the expression `self.conv1`, else None."""
    if isinstance(node, ast.Attribute) and _is_name(node.value, "self"):
        return node.attr
    return None


def _self_attribute(attribute):
    return ast.Attribute(value=ast.Name(id="self", ctx=ast.Load()), attr=attribute, ctx=ast.Load())


def _resolve(node, namespace):
    """The object a dotted name (`F.relu`, `paddle.nn.functional.relu`) names in the module's globals, or None.
    Only names and attributes are followed: nothing is called or evaluated."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        return getattr(owner, node.attr, None) if owner is not None else None
    return None

