{
  "targets": [
    {
      "target_name": "ebb_native",
      "sources": ["src/native/original_dst.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
