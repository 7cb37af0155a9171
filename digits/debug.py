"""The course's check_shape and check_content, done with forward hooks so the model stays untouched.

Inspector(model, content_batch=N) prints every layer's output shape on the first training batch and,
on training batch N, a slice of each layer's weights and of its output.
"""
import numpy as np

from .onednn import course_layer_name


class Inspector:
    def __init__(self, model, content_batch=None):
        self.content_batch, self.batch = content_batch, -1
        self.handles = [model.register_forward_pre_hook(self._count)]
        for name, layer in model.named_sublayers():
            self.handles.append(layer.register_forward_post_hook(self._reporter(name)))

    def _count(self, model, inputs):
        if model.training:
            self.batch += 1
            if self.batch == 0:
                print(f"[debug] layer output shapes, input {list(inputs[0].shape)}:")
            elif self.batch == self.content_batch:
                print(f"[debug] batch {self.batch}: weights and outputs, first values of each:")

    def _reporter(self, name):
        def report(layer, inputs, output):
            if not layer.training:
                return
            if self.batch == 0:
                print(f"[debug]   {name:8s} {course_layer_name(layer):12s} -> {list(output.shape)}")
            elif self.batch == self.content_batch:
                weights = getattr(layer, "weight", None)
                if weights is not None:
                    print(f"[debug]   {name} weight {list(weights.shape)}: {_head(weights)}")
                print(f"[debug]   {name} output {list(output.shape)}: {_head(output)}")
        return report

    def remove(self):
        for handle in self.handles:
            handle.remove()


def _head(tensor, count=5):
    values = tensor.numpy().ravel()
    return np.array2string(values[:count], precision=4) + f"  mean {values.mean():.4f} std {values.std():.4f}"
