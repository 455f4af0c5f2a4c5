{
  "targets": [
    {
      "target_name": "switchyard",
      "sources": ["src/addon.c", "src/ring.c", "src/tap.c", "src/offload.c", "src/gen.c", "src/traffic.c",
                  "src/poll.c", "src/link.c", "src/unixdgram.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
