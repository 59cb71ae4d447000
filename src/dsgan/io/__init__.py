"""Image files: discovery, robust decoding to tensors, atomic writing."""

from dsgan.io.images import (
    IMAGE_EXTENSIONS,
    list_images,
    load_image,
    save_image,
    tensor_to_uint8,
)

__all__ = ["IMAGE_EXTENSIONS", "list_images", "load_image", "save_image", "tensor_to_uint8"]
