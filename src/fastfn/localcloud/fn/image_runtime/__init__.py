"""Running a function from its container image, without a container daemon.

pull.py fetches the image (skopeo, into an OCI layout cached by digest) and unpacks its
rootfs (umoci, once per digest); bundle.py writes the OCI runtime config of one instance
and the command that runs it: crun with its own mount, pid, ipc and uts namespaces and a
user namespace in which the function is uid 1000 (the host network is shared, so the
function reaches the local cloud's proxy and databases on loopback), or, where the kernel
refuses namespaces, a chroot of the unpacked rootfs as uid 1000.
"""

from fastfn.localcloud.fn.image_runtime.bundle import Isolation, Launch, isolation, prepare_launch
from fastfn.localcloud.fn.image_runtime.pull import (
    ImageCache,
    ImagePullError,
    ImageSource,
    PulledImage,
)

__all__ = ["ImageCache", "ImagePullError", "ImageSource", "Isolation", "Launch",
           "PulledImage", "isolation", "prepare_launch"]
