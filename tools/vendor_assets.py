"""Install the site's third-party browser assets into overrides/assets/vendor/ (not committed).

Material for MkDocs loads Mermaid from a CDN unless `window.mermaid` already exists; the
site ships its own copy instead, so that no page loads anything from another host; so it does
for the Twemoji pictures of the emoji the pages use (hooks/emoji.py inlines them). A file
comes from the npm registry (`npm pack`, a pinned version), is checked against a pinned
SHA-256, and is installed only when missing or different: the nox sessions call this before
every build, and a warm call does nothing.

Usage: python tools/vendor_assets.py
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = ROOT / "overrides" / "assets" / "vendor"


@dataclass(frozen=True)
class NpmAsset:
    package: str
    version: str
    member: str  # path inside the npm tarball
    target: str  # file name under VENDOR_DIR
    sha256: str


ASSETS: tuple[NpmAsset, ...] = (
    # Material 9.7+ expects Mermaid 11 (its fallback is mermaid@11 from a CDN).
    NpmAsset(
        package="mermaid",
        version="11.17.2",
        member="package/dist/mermaid.min.js",
        target="mermaid.min.js",
        sha256="581ed7d74bd9048d0e3a91363927d72ef22942d7722546b27f7cc29e35390eb8",
    ),
    NpmAsset(
        package="mermaid",
        version="11.17.2",
        member="package/LICENSE",
        target="mermaid.LICENSE.txt",
        sha256="",  # informative copy: not checked
    ),
    # The emoji the pages write as shortcodes (`:white_check_mark:`), inlined as SVG by
    # hooks/emoji.py so that no emoji depends on the reader's fonts. One file per emoji the
    # pages use: the build names a missing one.
    *(
        NpmAsset(
            package="@twemoji/svg",
            version="15.0.0",
            member=f"package/{code}.svg",
            target=f"twemoji/{code}.svg",
            sha256=digest,
        )
        for code, digest in (
            ("2705", "4edc998439e95d5545d33a2c3197f8fab3b633c10c11b4f934be83bee021f230"),  # ✅
            ("1f51d", "f498ae3b3eaad15a2ce18e3e0f8d3dcd64ff10f5e35bfe85a2961311cc1a82ad"),  # 🔝
            ("23ed", "a63764cb9c59cbe65c9b83bb91ab8918600cdebdf90c2cbd9bb173ec0185cde6"),  # ⏭
        )
    ),
    NpmAsset(
        package="@twemoji/svg",
        version="15.0.0",
        member="package/license",
        target="twemoji/LICENSE.txt",
        sha256="",  # the package's licence (the pictures are Twemoji's, CC BY 4.0)
    ),
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _up_to_date(asset: NpmAsset) -> bool:
    path = VENDOR_DIR / asset.target
    return path.is_file() and (not asset.sha256 or _sha256(path) == asset.sha256)


def _npm_pack(package: str, version: str, dest: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "vendor_assets : npm est introuvable ; installez Node.js et npm "
            "(apt-get install npm) pour récupérer Mermaid."
        )
    spec = f"{package}@{version}"
    done = subprocess.run(
        [npm, "pack", spec, "--silent", "--pack-destination", str(dest)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"vendor_assets : `npm pack {spec}` a échoué :\n{done.stderr.strip()}")
    tarballs = sorted(dest.glob("*.tgz"))
    if len(tarballs) != 1:
        raise SystemExit(f"vendor_assets : `npm pack {spec}` n'a pas produit une archive.")
    return tarballs[0]


def _install(assets: list[NpmAsset]) -> None:
    by_package: dict[tuple[str, str], list[NpmAsset]] = {}
    for asset in assets:
        by_package.setdefault((asset.package, asset.version), []).append(asset)
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    for (package, version), wanted in by_package.items():
        with tempfile.TemporaryDirectory(prefix="vendor-") as tmp:
            tarball = _npm_pack(package, version, Path(tmp))
            with tarfile.open(tarball, "r:gz") as archive:
                for asset in wanted:
                    # Read one named member: nothing of the archive lands outside VENDOR_DIR.
                    member = archive.extractfile(asset.member)
                    if member is None:
                        raise SystemExit(
                            f"vendor_assets : {asset.member} absent de {package}@{version}."
                        )
                    data = member.read()
                    digest = hashlib.sha256(data).hexdigest()
                    if asset.sha256 and digest != asset.sha256:
                        raise SystemExit(
                            f"vendor_assets : {package}@{version} {asset.member} a pour SHA-256 "
                            f"{digest}, {asset.sha256} attendu."
                        )
                    partial = VENDOR_DIR / (asset.target + ".part")
                    partial.parent.mkdir(parents=True, exist_ok=True)
                    partial.write_bytes(data)
                    partial.replace(VENDOR_DIR / asset.target)
                    print(f"vendor_assets : {asset.target} ← {package}@{version}")


def main() -> int:
    missing = [asset for asset in ASSETS if not _up_to_date(asset)]
    if not missing:
        print("vendor_assets : rien à faire (déjà installé).")
        return 0
    _install(missing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
