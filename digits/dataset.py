"""The course's asynchronous variant: the same arrays as a paddle.io.Dataset for paddle.io.DataLoader."""
import paddle

from .data import FLAT, load_course_data


class MnistDataset(paddle.io.Dataset):
    """One (image, label) pair per index; DataLoader batches, shuffles and can use worker processes."""

    def __init__(self, mode="train", *, image_shape=FLAT, label_dtype="float32", datafile=None):
        super().__init__()
        self.images, self.labels = load_course_data(datafile)[mode]
        self.image_shape, self.label_dtype = image_shape, label_dtype

    def __getitem__(self, index):
        return (self.images[index].reshape(self.image_shape),
                self.labels[index:index + 1].astype(self.label_dtype))

    def __len__(self):
        return len(self.images)
