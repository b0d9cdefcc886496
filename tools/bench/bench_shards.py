"""`make bench` for videos in tar shards and on an http server (issue 30).

1. Bytes a training clip costs over http: `clipkit bench ranges` reads 8×8
   clips (dense, seeded) one after another from nginx on 127.0.0.1, for the
   plain files and for the tar shards' members (the manifests' offset and
   size columns). nginx's log says what it sent for every request; the
   bytes of the GOPs each clip decodes come from ffprobe's packet positions
   (keyframe to next keyframe, in file order). Header and index requests are
   counted apart.
2. Loader throughput, training clips 8×8 at 224 (batch 8, 2 workers), as
   interleaved rounds: plain files, local shards, both over loopback nginx,
   and the peer, WebDataset + decord over the same shards (local, and over
   http through curl as WebDataset reads URLs).

    python bench_shards.py --clipkit BIN --set bench-data/shards-set [--rounds 5]
"""
import argparse
import csv
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import run_json

HERE = os.path.dirname(os.path.abspath(__file__))


class Nginx:
    """nginx on 127.0.0.1 and a free port, serving `root`, logging every request's range and bytes sent."""

    def __init__(self, root):
        self.folder = tempfile.mkdtemp(prefix="clipkit-bench-nginx-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = os.path.join(self.folder, "access.log")
        conf = os.path.join(self.folder, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off; master_process off; user root; pid {self.folder}/nginx.pid;
error_log {self.folder}/error.log;
events {{ worker_connections 256; }}
http {{
    log_format ranges '$status $body_bytes_sent "$http_range" "$uri"';
    access_log {self.log} ranges;
    client_body_temp_path {self.folder}/body; proxy_temp_path {self.folder}/proxy;
    fastcgi_temp_path {self.folder}/fastcgi; uwsgi_temp_path {self.folder}/uwsgi; scgi_temp_path {self.folder}/scgi;
    default_type application/octet-stream;
    server {{ listen 127.0.0.1:{self.port}; root {os.path.abspath(root)}; location / {{ }} }}
}}
""")
        self.process = subprocess.Popen(["/usr/sbin/nginx", "-p", self.folder, "-c", conf, "-e", self.folder + "/error.log"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(250):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.02)
        else:
            self.stop()
            raise RuntimeError("nginx did not start: " + open(self.folder + "/error.log").read())
        self.url = f"http://127.0.0.1:{self.port}"

    def lines(self):
        """(status, bytes sent, range, uri) of every request logged so far."""
        out = []
        for line in open(self.log):
            status, sent, rest = line.split(" ", 2)
            rng, uri = rest.strip().split('" "')
            out.append((int(status), int(sent), rng.strip('"'), uri.strip('"')))
        return out

    def clear(self):
        open(self.log, "w").close()   # nginx appends at its own offset: O_APPEND keeps it right

    def stop(self):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def rows(manifest):
    with open(manifest) as f:
        return list(csv.DictReader(f))


def write_manifest(path, entries, repeat=1):
    fields = list(entries[0].keys())
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for _ in range(repeat):
            w.writerows(entries)


def localised(manifest, repeat):
    """The manifest with absolute paths, each video `repeat` times (8 batches of 8 an epoch)."""
    folder = os.path.dirname(os.path.abspath(manifest))
    entries = [dict(e, path=os.path.join(folder, e["path"])) for e in rows(manifest)]
    return entries * repeat


def remote(entries, root, url):
    return [dict(e, path=url + "/" + os.path.relpath(e["path"], root)) for e in entries]


def gops(video):
    """Keyframe packet positions in file order and the file's size, from ffprobe."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts,pos,flags",
                          "-of", "csv=p=0", video], check=True, capture_output=True, text=True).stdout
    packets = [l.split(",") for l in out.split() if l]
    by_pts = sorted(packets, key=lambda p: int(p[0]))
    keyframes = [i for i, p in enumerate(by_pts) if "K" in p[2]]    # display order
    position = {i: int(p[1]) for i, p in enumerate(by_pts)}
    return keyframes, position, os.path.getsize(video)


def clip_gop_bytes(frames, keyframes, position, size):
    """Bytes from the keyframe the clip starts from to the keyframe after its last frame."""
    first = max(k for k in keyframes if k <= min(frames))
    later = [k for k in keyframes if k > max(frames)]
    return (position[later[0]] if later else size) - position[first]


def measure_bytes(clipkit, nginx, manifest, local_of, clips):
    """Per clip: bytes nginx sent for its open and for its clip, the GOP bytes, the file size."""
    nginx.clear()
    records = run_json([clipkit, "bench", "ranges", "--manifest", manifest, "--clips", str(clips), "--json"])
    lines = nginx.lines()
    assert all(status == 206 for status, *_ in lines), "every request is ranged"
    assert len(lines) == sum(r["opening_requests"] + r["clip_requests"] for r in records), "the log matches the counts"
    cache, out, at = {}, [], 0
    for r in records:
        opening = lines[at:at + r["opening_requests"]]
        at += r["opening_requests"]
        clip = lines[at:at + r["clip_requests"]]
        at += r["clip_requests"]
        video = local_of[r["video"]]
        if video not in cache:
            cache[video] = gops(video)
        gop = clip_gop_bytes(r["frames"], *cache[video])
        out.append({"opening_sent": sum(l[1] for l in opening), "clip_sent": sum(l[1] for l in clip),
                    "clip_requests": len(clip), "gop_bytes": gop, "file_bytes": cache[video][2],
                    "asked": r["clip_bytes"]})
    return out


def summarise_bytes(name, per_clip):
    ratio = [c["clip_sent"] / c["gop_bytes"] for c in per_clip]
    share = [c["clip_sent"] / c["file_bytes"] for c in per_clip]
    return {"name": name, "clips": len(per_clip), "median_ratio_to_gops": statistics.median(ratio),
            "max_ratio_to_gops": max(ratio), "mean_share_of_file": statistics.mean(share),
            "mean_clip_kb": statistics.mean(c["clip_sent"] for c in per_clip) / 1e3,
            "mean_open_kb": statistics.mean(c["opening_sent"] for c in per_clip) / 1e3,
            "requests_per_clip": statistics.mean(c["clip_requests"] for c in per_clip),
            "sent_equals_asked": all(c["clip_sent"] == c["asked"] for c in per_clip)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clipkit", required=True)
    ap.add_argument("--set", required=True, help="tools/bench/make-shard-set.sh's folder")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clips", type=int, default=160, help="training clips per loader run")
    ap.add_argument("--byte-clips", type=int, default=96, help="clips read for the bytes table")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    root = os.path.abspath(a.set)
    work = tempfile.mkdtemp(prefix="clipkit-bench-shards-")
    nginx = Nginx(root)
    try:
        files = localised(os.path.join(root, "files.csv"), 8)
        shards = localised(os.path.join(root, "shards", "manifest.csv"), 8)
        manifests = {"files": files, "shards": shards, "files over http": remote(files, root, nginx.url),
                     "shards over http": remote(shards, root, nginx.url)}
        paths = {}
        for name, entries in manifests.items():
            paths[name] = os.path.join(work, name.replace(" ", "-") + ".csv")
            write_manifest(paths[name], entries)
        # 1. Bytes per clip.
        local_of = {}
        for f, s, fu, su in zip(files, shards, manifests["files over http"], manifests["shards over http"]):
            local_of[fu["path"]] = f["path"]
            local_of[su["path"]] = f["path"]   # the member holds the file's bytes as they are
        once = {k: [dict(e) for e in v[:len(v) // 8]] for k, v in manifests.items()}
        byte_rows = []
        for name in ("files over http", "shards over http"):
            path = os.path.join(work, "once-" + name.replace(" ", "-") + ".csv")
            write_manifest(path, once[name])
            byte_rows.append(summarise_bytes(name, measure_bytes(a.clipkit, nginx, path, local_of, a.byte_clips)))
        # 2. Loader throughput, interleaved rounds.
        shard_files = sorted(os.path.join(root, "shards", f) for f in os.listdir(os.path.join(root, "shards"))
                             if f.endswith(".tar"))
        shard_urls = [f"pipe:curl -s {nginx.url}/shards/{os.path.basename(f)}" for f in shard_files]
        python = sys.executable
        runs = {k: [] for k in list(manifests) + ["webdataset + decord, shards", "webdataset + decord, shards over http"]}
        rss = {k: [] for k in runs}
        waited, connections = [], []
        for r in range(a.rounds):
            for name, path in paths.items():
                o = run_json([a.clipkit, "bench", "loader", "--manifest", path, "--mode", "train", "--clip-len", "8",
                              "--interval", "8", "--crop", "224", "--batch", "8", "--workers", "2",
                              "--clips", str(a.clips), "--seed", str(r), "--json"])
                runs[name].append(o["clips_per_s"])
                rss[name].append(o["peak_rss_mb"])
                if name == "shards over http":
                    waited.append(o["network_wait_s"] / o["seconds"] / 2)
                    connections.append((o["connections"], o["opening_requests"] + o["clip_requests"]))
            for name, shards_in in (("webdataset + decord, shards", shard_files),
                                    ("webdataset + decord, shards over http", shard_urls)):
                o = run_json([python, os.path.join(HERE, "wds_peer.py"), "--clips", str(a.clips)] + shards_in, cwd=HERE)
                runs[name].append(o["clips_per_s"])
                rss[name].append(o["peak_rss_mb_one_process"])
            print(f"round {r + 1}/{a.rounds}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in runs.items()), file=sys.stderr)
        med = {k: statistics.median(v) for k, v in runs.items()}
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("| clips read from nginx | clips | bytes sent per clip / its GOPs' bytes (median, max) | per clip / file size (mean) "
          "| clip kB | requests per clip | open (header) kB, apart |")
    print("|---|---|---|---|---|---|---|")
    for b in byte_rows:
        print(f"| {b['name']} | {b['clips']} | **{b['median_ratio_to_gops']:.2f}×**, {b['max_ratio_to_gops']:.2f}× "
              f"| **{b['mean_share_of_file']:.2f}×** | {b['mean_clip_kb']:.0f} | {b['requests_per_clip']:.2f} "
              f"| {b['mean_open_kb']:.0f} |")
    print()
    print("| loader, train 8×8 at 224, batch 8, 2 workers | clips/s (median) | against plain files | peak RSS MB |")
    print("|---|---|---|---|")
    for k in runs:
        print(f"| {k} | {med[k]:.2f} | **{med[k] / med['files']:.2f}×** | {max(rss[k]):.0f} |")
    print(f"\nshards over http: the workers waited on the network {100 * statistics.median(waited):.1f}% of their time "
          f"(median over rounds, from `bench loader`'s network_wait_s); connections opened / requests made: "
          + ", ".join(f"{c}/{n}" for c, n in connections))
    if a.json_out:
        json.dump({"bytes": byte_rows, "runs": runs, "median": med, "peak_rss_mb": rss, "network_wait_share": waited,
                   "connections_and_requests": connections},
                  open(a.json_out, "w"), indent=1)


if __name__ == "__main__":
    main()
