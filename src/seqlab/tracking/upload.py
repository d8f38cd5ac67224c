"""The upload command's old name: it is `python -m seqlab.upload` now (it drives the
pipeline's logging, above tracking). The old name runs it, after a one-line note."""

if __name__ == "__main__":
    import runpy
    import sys

    print("seqlab: `python -m seqlab.tracking.upload` is now `python -m seqlab.upload`; "
          "running that", file=sys.stderr)
    runpy.run_module("seqlab.upload", run_name="__main__", alter_sys=True)
