"""OCI registries on 127.0.0.1 that stand in for the Trivy DB's (pytest-httpserver).

Trivy's registry client speaks plain HTTP to a loopback address (after a failed TLS attempt),
so `127.0.0.1:PORT/NAME/trivy-db:2` works as a `--db-repository` (or in
$TRIVY_DB_REPOSITORY). Each repository answers its own way: an error, or a real DB artifact.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tarfile
from pathlib import Path

from pytest_httpserver import HTTPServer


def stamp(when: dt.datetime) -> str:
    """A time as Trivy's metadata.json writes it."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_metadata(db_dir: Path, *, updated: dt.datetime, next_update: dt.datetime) -> None:
    """db_dir/metadata.json with these dates (schema 2)."""
    metadata = {
        "Version": 2,
        "NextUpdate": stamp(next_update),
        "UpdatedAt": stamp(updated),
        "DownloadedAt": stamp(updated),
    }
    (db_dir / "metadata.json").write_text(json.dumps(metadata))


def digest(data: bytes) -> str:
    """An OCI content digest."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def db_layer(trivy_db: Path, scratch: Path, *, updated: dt.datetime) -> bytes:
    """The trivy-db artifact's one layer (db.tar.gz): `trivy_db`, with metadata dated `updated`."""
    scratch.mkdir(parents=True, exist_ok=True)
    write_metadata(scratch, updated=updated, next_update=updated + dt.timedelta(hours=6))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(trivy_db, arcname="trivy.db")
        tar.add(scratch / "metadata.json", arcname="metadata.json")
    return buffer.getvalue()


class Registry:
    """Repositories on one local HTTP server, each answering its own way."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.host = f"127.0.0.1:{server.port}"
        server.expect_request("/v2/").respond_with_json({})

    def repository(self, name: str) -> str:
        """The `--db-repository` of repository `name`."""
        return f"{self.host}/{name}/trivy-db:2"

    def answering(self, name: str, status: int, body: object) -> str:
        """A repository whose manifest request gets `status` and `body`."""
        self.server.expect_request(f"/v2/{name}/trivy-db/manifests/2").respond_with_json(
            body, status=status
        )
        return self.repository(name)

    def serving(self, name: str, layer: bytes) -> str:
        """A repository serving a DB artifact whose one layer is `layer`."""
        config = b"{}"
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.aquasec.trivy.config.v1+json",
                    "digest": digest(config),
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip",
                        "digest": digest(layer),
                        "size": len(layer),
                        "annotations": {"org.opencontainers.image.title": "db.tar.gz"},
                    }
                ],
            }
        ).encode()
        self.server.expect_request(f"/v2/{name}/trivy-db/manifests/2").respond_with_data(
            manifest,
            content_type="application/vnd.oci.image.manifest.v1+json",
            headers={"Docker-Content-Digest": digest(manifest)},
        )
        self.server.expect_request(f"/v2/{name}/trivy-db/blobs/{digest(layer)}").respond_with_data(
            layer, content_type="application/octet-stream"
        )
        return self.repository(name)

    def manifest_requests(self) -> list[str]:
        """The paths of the manifest requests the server got, in order."""
        return [r.path for r, _ in self.server.log if "/manifests/" in r.path]
