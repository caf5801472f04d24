"""Container images without a Docker daemon: Debian's own tools, on this machine.

- `base.py`: the Python base image, a minimal Debian rootfs made by `mmdebstrap`,
  imported into buildah's storage as `localhost/fastfn/python:<py>-<suite>`; cached by a
  key over the package list and mmdebstrap's arguments (a second call is a no-op).
- `wheel.py`: fastfn itself as a wheel, written from this source tree (fastfn is not on
  PyPI; the image installs it like any other requirement).
- `wheelhouse.py`: every wheel a service's `requirements.txt` needs for the image's
  Python and architecture, cached by content, so rebuilds need no network.
- `buildah.py`: `buildah bud --isolation chroot` of the generated Dockerfile with the
  local base and the wheelhouse, `push` to a registry, `inspect`.
- `tools.py`: running the tools; a missing one is an `ImageToolMissing` naming its
  Debian package.

Images live in buildah's own storage (`buildah images`); nothing here needs root
beyond what buildah and mmdebstrap need themselves.
"""
