"""Model format handlers: one module per format, and THE table that dispatches to them.

`base` is the one interface: each format module defines a `Handler` (a name, a `sniff`,
a `scan`, one signature each); `table.HANDLERS` lists them in sniffing order. The scanner
gives data to the first handler whose sniff says yes; data that sniffs as nothing goes to
the handler its name claims (`suffixes`), then to the fallback handlers (text). Adding a
format: one new module with its Handler, one line in `table.HANDLERS`.

    pickles       protocol 2+ pickles (PROTO), legacy torch.save, joblib
    zips          torch zip checkpoints, Keras v3 .keras, NumPy .npz, any zip
    npy           .npy object arrays
    hdf5          Keras .h5 model configs
    gguf          llama.cpp GGUF chat templates
    safetensors   headers that lie about the data
    compressed    gzip, bzip2, xz, zlib (joblib's compressed dumps): the content, one level down
    onnx          external data paths and custom op domains
    pickles (0/1) magic-less protocol 0/1 pickles, told from text by parsing
    text          chat templates in tokenizer configs and .jinja files; other text is quiet
"""
