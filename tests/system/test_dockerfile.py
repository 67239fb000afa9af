"""The Dockerfile's runtime stage installs every shared library the five
programs link against, and its build stage copies every program.

No container engine runs here, so the image itself cannot be built; this
checks what can go wrong without one: each library a built binary needs
(ldd) belongs to a Debian package (dpkg -S) that the runtime stage installs
or that debian:bookworm-slim already has (libc and friends)."""

import os
import re
import subprocess

from dlt import BUILD, BINARIES, check, log, run_test

SRC = os.environ.get("DLT_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))

# Packages of the essential set that debian:bookworm-slim ships.
BASE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblzma5", "libbz2-1.0",
        "libselinux1", "libpcre2-8-0", "libgcrypt20", "libgpg-error0", "libcap2",
        "libsystemd0", "liblz4-1", "libcrypt1", "libtinfo6", "libdb5.3", "libaudit1",
        "libacl1", "libattr1", "debconf", "libsemanage2", "libsepol2", "libudev1",
        "libmd0", "libgmp10", "libxxhash0", "libffi8", "libp11-kit0", "libunistring2",
        "libidn2-0", "libtasn1-6", "libhogweed6", "libnettle8", "libgnutls30"}


def runtime_packages(dockerfile):
    """The packages installed by apt-get in the last stage."""
    stages = re.split(r"^FROM ", dockerfile, flags=re.M)
    last = stages[-1]
    pkgs = set()
    # The words after "apt-get install" up to the next "&&", options aside.
    for m in re.finditer(r"apt-get install(.*?)&&", last, flags=re.S):
        for tok in re.split(r"[\s\\]+", m.group(1)):
            if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", tok):
                pkgs.add(tok)
    return pkgs


def package_of(path):
    r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if r.returncode != 0:
        real = os.path.realpath(path)
        r = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return r.stdout.split(":")[0].strip()


_deps = None


def runtime_closure(runtime):
    """Every package the runtime packages pull in (computed once)."""
    global _deps
    if _deps is None:
        out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends",
                              "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces",
                              "--no-enhances", *sorted(runtime)],
                             capture_output=True, text=True).stdout
        _deps = {m.group(1) for m in re.finditer(r"^\s*(?:Depends: )?<?([a-z0-9][a-z0-9.+-]+)",
                                                out, re.M)}
    return _deps


def main():
    with open(os.path.join(SRC, "Dockerfile")) as f:
        dockerfile = f.read()
    runtime = runtime_packages(dockerfile)
    log("runtime stage installs:", " ".join(sorted(runtime)))
    check(runtime, "no apt-get install found in the runtime stage")
    check("DLT_SANITIZE=ON" not in dockerfile, "the image must not be a sanitizer build")
    for name, rel in BINARIES.items():
        check(f"/build/{rel}" in dockerfile, f"the build stage does not copy {name} ({rel})")
        path = os.path.join(BUILD, rel)
        out = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            m = re.search(r"=>\s+(/\S+)", line)
            if not m:
                continue
            # A sanitizer build (build-asan) links the sanitizer runtimes;
            # the image is built without sanitizers, so they are not its concern.
            if re.search(r"/lib(asan|ubsan|lsan|tsan)\.so", m.group(1)):
                continue
            pkg = package_of(m.group(1))
            check(pkg is not None, f"{name}: {m.group(1)} belongs to no Debian package")
            # Multi-arch names come as libfoo:amd64.
            pkg = pkg.split(":")[0]
            # A library pulled in by a runtime package is installed with it;
            # only what the binary links directly must be named.
            direct = any(lib in line for lib in ("librdkafka", "libmicrohttpd", "libcurl",
                                                 "libcjson", "libsqlite3"))
            if direct:
                check(pkg in runtime, f"{name} links {m.group(1)} from {pkg}, which the "
                                      f"runtime stage does not install")
            elif pkg not in runtime and pkg not in BASE:
                # Indirect: must come with one of the runtime packages.
                check(pkg in runtime_closure(runtime),
                      f"{name} needs {pkg} ({m.group(1)}), which neither the runtime packages "
                      f"nor the base image bring")


if __name__ == "__main__":
    run_test(main)
