"""Drives Python's huggingface_hub for test/support/python_hub.rb.

Reads {"ops": [...]} as JSON on stdin, runs each op with the real client (its
settings come from the environment: HF_HUB_CACHE, HF_ENDPOINT, HF_HUB_OFFLINE),
prints {"version": ..., "results": [...]} as JSON on stdout. An op that raises
gives {"error": <exception class>, "message": ...} instead of a result.

Ops:
  {"op": "hf_hub_download", "repo_id", "filename", "revision"?, "repo_type"?, "local_files_only"?}
      => {"path", "sha256"}
  {"op": "try_to_load_from_cache", "repo_id", "filename", "revision"?, "repo_type"?}
      => {"path": path | null (not cached), "no_exist": true (cached as not existing)}
  {"op": "snapshot_download", "repo_id", "revision"?, "repo_type"?}   (always local_files_only)
      => {"path"}
  {"op": "scan_cache_dir"}
      => {"warnings": [...], "repos": [{"repo_id", "repo_type", "repo_path", "size_on_disk", "nb_files",
          "refs": {ref: commit}, "revisions": [{"commit_hash", "snapshot_path", "size_on_disk", "refs",
          "files": [{"name" (relative to the snapshot), "blob_path", "size_on_disk"}]}]}]}
  {"op": "hold_lock", "repo_id", "etag", "seconds", "repo_type"?}
      Takes huggingface_hub's own lock for a blob (WeakFileLock on
      <HF_HUB_CACHE>/.locks/<repo folder>/<etag>.lock, the path hf_hub_download
      locks), prints "locked <path>" on stderr (flushed: a caller that runs this
      driver in the background waits for that line), holds it `seconds`, releases it.
      => {"lock_path", "locked_at", "released_at"} (time.time() seconds)
"""

import hashlib
import json
import os
import sys
import time

import huggingface_hub
from huggingface_hub import _CACHED_NO_EXIST, hf_hub_download, scan_cache_dir, snapshot_download, try_to_load_from_cache
from huggingface_hub.file_download import repo_folder_name
from huggingface_hub.utils import WeakFileLock


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(op):
    kind = op["op"]
    repo_type = op.get("repo_type", "model")
    if kind == "hf_hub_download":
        path = hf_hub_download(
            op["repo_id"],
            op["filename"],
            revision=op.get("revision"),
            repo_type=repo_type,
            local_files_only=op.get("local_files_only", False),
        )
        return {"path": path, "sha256": sha256(path)}
    if kind == "try_to_load_from_cache":
        found = try_to_load_from_cache(op["repo_id"], op["filename"], revision=op.get("revision"), repo_type=repo_type)
        return {"no_exist": True} if found is _CACHED_NO_EXIST else {"path": found}
    if kind == "snapshot_download":
        path = snapshot_download(op["repo_id"], revision=op.get("revision"), repo_type=repo_type, local_files_only=True)
        return {"path": path}
    if kind == "hold_lock":
        # The same path hf_hub_download builds (file_download.py: locks_dir / repo folder / f"{etag}.lock").
        folder = os.path.join(os.environ["HF_HUB_CACHE"], ".locks", repo_folder_name(repo_id=op["repo_id"], repo_type=repo_type))
        os.makedirs(folder, exist_ok=True)
        lock_path = os.path.join(folder, f"{op['etag']}.lock")
        with WeakFileLock(lock_path):
            locked_at = time.time()
            print(f"locked {lock_path}", file=sys.stderr, flush=True)
            time.sleep(float(op["seconds"]))
            released_at = time.time()
        return {"lock_path": lock_path, "locked_at": locked_at, "released_at": released_at}
    if kind == "scan_cache_dir":
        info = scan_cache_dir(os.environ["HF_HUB_CACHE"])
        repos = []
        for repo in sorted(info.repos, key=lambda r: (r.repo_type, r.repo_id)):
            revisions = []
            for rev in sorted(repo.revisions, key=lambda r: r.commit_hash):
                files = [
                    {
                        "name": os.path.relpath(f.file_path, rev.snapshot_path).replace(os.sep, "/"),
                        "blob_path": str(f.blob_path),
                        "size_on_disk": f.size_on_disk,
                    }
                    for f in rev.files
                ]
                revisions.append(
                    {
                        "commit_hash": rev.commit_hash,
                        "snapshot_path": str(rev.snapshot_path),
                        "size_on_disk": rev.size_on_disk,
                        "refs": sorted(rev.refs),
                        "files": sorted(files, key=lambda f: f["name"]),
                    }
                )
            repos.append(
                {
                    "repo_id": repo.repo_id,
                    "repo_type": repo.repo_type,
                    "repo_path": str(repo.repo_path),
                    "size_on_disk": repo.size_on_disk,
                    "nb_files": repo.nb_files,
                    "refs": {ref: rev.commit_hash for ref, rev in repo.refs.items()},
                    "revisions": revisions,
                }
            )
        return {"warnings": [str(w) for w in info.warnings], "repos": repos}
    raise ValueError(f"unknown op {kind!r}")


def main():
    request = json.load(sys.stdin)
    results = []
    for op in request["ops"]:
        try:
            results.append(run(op))
        except Exception as e:  # reported to the Ruby test, which decides
            results.append({"error": type(e).__name__, "message": str(e)})
    json.dump({"version": huggingface_hub.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
