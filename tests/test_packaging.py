"""The spec ships inside the wheel: an installed build loads it from outside the repo."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_carries_the_spec_and_loads_it_outside_the_repo(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d",
                    str(tmp_path / "dist")], cwd=ROOT, check=True, capture_output=True, timeout=120)
    wheel = next((tmp_path / "dist").glob("apikley_mock-*.whl"))
    installed = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert "contracts/openapi/apikley.yaml" in archive.namelist()
        for page in ("dashboard.html", "dashboard.js", "dashboard.css", "docs.html", "docs.js"):
            assert f"mock_server/http/static/{page}" in archive.namelist()
        shipped = set(archive.namelist())
        assert "contracts/schemathesis.toml" in shipped  # the contract run's schemathesis settings
        examples = {name for name in shipped if name.startswith("contracts/openapi/models/")}
        assert {f"contracts/openapi/models/{page.name}" for page in (ROOT / "openapi" / "models").iterdir()} <= examples
        catalogue = {f"contracts/openapi/catalogue/{page.name}" for page in (ROOT / "openapi" / "catalogue").iterdir()}
        assert catalogue <= shipped and "contracts/openapi/catalogue/MANIFEST.json" in catalogue
        metadata = next(name for name in shipped if name.endswith("METADATA"))
        requires = archive.read(metadata).decode()
        assert "Requires-Dist: redis>=5; extra == 'redis'" in requires  # extras, not every user's dependencies
        assert "Requires-Dist: aiohttp>=3.9; extra == 'proxy'" in requires
        archive.extractall(installed)
    probe = ("import contracts, mock_server; from contracts.spec.document import spec_path, load_spec; "
             "from contracts.spec.validators import request_validators; "
             "print(contracts.__file__); print(spec_path()); print(len(request_validators())); "
             "print(load_spec()['info']['title']); "
             "from contracts.family.catalogue import ModelCatalogue; print(len(ModelCatalogue.load().pages))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(installed)}, check=True)
    module_file, spec_file, count, title, models = done.stdout.split("\n")[:5]
    assert module_file.startswith(str(installed))
    assert spec_file == str(installed / "contracts" / "openapi" / "apikley.yaml")
    assert int(count) >= 6 and title == "Bytedance API"
    assert int(models) == len(catalogue)  # the seed and every bundled page (the manifest is not one)
