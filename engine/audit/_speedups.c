/* The sequencer's per-row work in C: the parts of engine/audit/fast_canonical.py and of
 * sequencer._Reader.append that cost the most in the interpreter (issue 15).
 *
 * Each function here has a Python original that stays the reference: fast_canonical's
 * _may_differ, sqlite_datetime_py and record_bytes_py, sequencer._link_py (the entry of an
 * integer key) and merkle.frontier_extend_py. tests/audit/test_speedups.py checks that both give
 * the same results on generated inputs and edge cases. Where this code cannot decide as quickly as the original, it is
 * stricter, never looser: sqlite_datetime raises NotFast for any text it does not take (the slow
 * path then gives the canonical bytes), so an answer from here is always the original's answer.
 *
 * Hashing is OpenSSL's SHA-256, as hashlib's is, without making a Python object per digest.
 * The GIL is held throughout, so one digest context serves every call. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <openssl/evp.h>
#include <string.h>

/* set by configure: fast_canonical.NotFast, orjson.dumps, its options (as a keyword argument)
 * and orjson.JSONEncodeError */
static PyObject *not_fast = NULL, *dumps = NULL, *dumps_kwnames = NULL, *dumps_option = NULL;
static PyObject *encode_error = NULL;
static EVP_MD *sha256_md = NULL;
static EVP_MD_CTX *ctx = NULL;

static const char HEX[] = "0123456789abcdef";

/* SHA-256(prefix || data) into out; -1 with the Python error set where OpenSSL fails */
static int digest(const unsigned char *prefix, size_t prefix_len, const char *data, size_t len,
                  unsigned char out[32]) {
    unsigned int n = 0;
    if (EVP_DigestInit_ex2(ctx, sha256_md, NULL) &&
        (prefix_len == 0 || EVP_DigestUpdate(ctx, prefix, prefix_len)) &&
        EVP_DigestUpdate(ctx, data, len) && EVP_DigestFinal_ex(ctx, out, &n) && n == 32)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "SHA-256 failed");
    return -1;
}

static void to_hex(const unsigned char md[32], char out[64]) {
    for (int i = 0; i < 32; i++) {
        out[2 * i] = HEX[md[i] >> 4];
        out[2 * i + 1] = HEX[md[i] & 15];
    }
}

/* --- fast_canonical._may_differ ------------------------------------------------------------ */

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_mantissa(unsigned char c) { return is_digit(c) || c == '.' || c == '-'; }
static int is_value_start(unsigned char c) { return c == ':' || c == ',' || c == '['; }

/* Whether out[i] may be part of a number: mantissa characters back to a value start. */
static int in_number(const unsigned char *out, Py_ssize_t i) {
    while (i > 0 && is_mantissa(out[i - 1])) i--;
    return i > 0 && is_value_start(out[i - 1]);
}

static int differs(const unsigned char *out, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = out[i];
        if (c == 'e') {
            /* "e-" or "e+" after a digit, in a number: an exponent */
            if (i > 0 && i + 1 < n && (out[i + 1] == '-' || out[i + 1] == '+') &&
                is_digit(out[i - 1]) && in_number(out, i))
                return 1;
        } else if (c == '0' && i + 6 <= n && memcmp(out + i, "0.0000", 6) == 0) {
            /* a number starting 0.0000 (or -0.0000) at a value start */
            Py_ssize_t j = (i > 0 && out[i - 1] == '-') ? i - 1 : i;
            if (j > 0 && is_value_start(out[j - 1])) return 1;
        }
    }
    return 0;
}

static PyObject *may_differ(PyObject *self, PyObject *arg) {
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "may_differ takes bytes");
        return NULL;
    }
    return PyBool_FromLong(
        differs((const unsigned char *)PyBytes_AS_STRING(arg), PyBytes_GET_SIZE(arg)));
}

/* --- fast_canonical.sqlite_datetime -------------------------------------------------------- */

static int digits(const char *s, int from, int to) { /* s[from:to] all ASCII digits */
    for (int i = from; i < to; i++)
        if (!is_digit((unsigned char)s[i])) return 0;
    return 1;
}

static int number(const char *s, int from, int to) {
    int v = 0;
    for (int i = from; i < to; i++) v = v * 10 + (s[i] - '0');
    return v;
}

static int days_in_month(int year, int month) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))) return 29;
    return days[month - 1];
}

static PyObject *raise_not_fast(void) {
    PyErr_SetNone(not_fast ? not_fast : PyExc_ValueError);
    return NULL;
}

/* "YYYY-MM-DD HH:MM:SS.ffffff" (a datetime that exists, year 1000 and up) as
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ"; None as it is; NotFast for anything else. */
static PyObject *sqlite_datetime(PyObject *self, PyObject *arg) {
    if (arg == Py_None) Py_RETURN_NONE;
    if (!PyUnicode_CheckExact(arg) || !PyUnicode_IS_ASCII(arg) || PyUnicode_GET_LENGTH(arg) != 26)
        return raise_not_fast();
    const char *s = (const char *)PyUnicode_DATA(arg);
    if (s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
        s[19] != '.' || s[0] == '0')
        return raise_not_fast();
    if (!digits(s, 0, 4) || !digits(s, 5, 7) || !digits(s, 8, 10) || !digits(s, 11, 13) ||
        !digits(s, 14, 16) || !digits(s, 17, 19) || !digits(s, 20, 26))
        return raise_not_fast();
    int year = number(s, 0, 4), month = number(s, 5, 7), day = number(s, 8, 10);
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
        number(s, 11, 13) > 23 || number(s, 14, 16) > 59 || number(s, 17, 19) > 59)
        return raise_not_fast();
    PyObject *res = PyUnicode_New(27, 127);
    if (res == NULL) return NULL;
    char *d = (char *)PyUnicode_DATA(res);
    memcpy(d, s, 10);
    d[10] = 'T';
    memcpy(d + 11, s + 11, 15);
    d[26] = 'Z';
    return res;
}

/* --- sequencer._link_py -------------------------------------------------------------------- */

/* link(data, seq, kind, key, prev, rows, leaves) -> entry_hash: one journal entry of an
 * integer key, kind and prev being texts JSON writes as they are (the caller checks). */
static PyObject *chain_link(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "link takes 7 arguments");
        return NULL;
    }
    PyObject *data = args[0], *seq = args[1], *kind = args[2], *key = args[3], *prev = args[4];
    PyObject *rows = args[5], *leaves = args[6];
    if (!PyBytes_Check(data) || !PyLong_CheckExact(seq) || !PyLong_CheckExact(key) ||
        !PyUnicode_CheckExact(kind) || !PyUnicode_IS_ASCII(kind) || !PyUnicode_CheckExact(prev) ||
        !PyUnicode_IS_ASCII(prev) || !PyList_Check(rows) ||
        (leaves != Py_None && !PyList_Check(leaves))) {
        PyErr_SetString(PyExc_TypeError, "link: bytes, int, str, int, str, list, list or None");
        return NULL;
    }
    unsigned char md[32];
    char record_hex[64], entry_hex[64];
    if (digest(NULL, 0, PyBytes_AS_STRING(data), (size_t)PyBytes_GET_SIZE(data), md) < 0)
        return NULL;
    to_hex(md, record_hex);

    PyObject *key_text = NULL, *seq_text = NULL, *leaf = NULL, *record = NULL, *entry = NULL;
    PyObject *row = NULL, *result = NULL;
    key_text = PyObject_Str(key);
    seq_text = key_text ? PyObject_Str(seq) : NULL;
    if (seq_text == NULL) goto done;
    leaf = PyUnicode_FromFormat(
        "{\"key\":\"%U\",\"kind\":\"%U\",\"prev\":\"%U\",\"record_sha256\":\"%.64s\",\"seq\":%U}",
        key_text, kind, prev, record_hex, seq_text);
    if (leaf == NULL) goto done;
    /* ASCII throughout: its characters are its UTF-8 bytes */
    const char *leaf_bytes = (const char *)PyUnicode_DATA(leaf);
    size_t leaf_len = (size_t)PyUnicode_GET_LENGTH(leaf);
    if (digest(NULL, 0, leaf_bytes, leaf_len, md) < 0) goto done;
    to_hex(md, entry_hex);
    if (leaves != Py_None) {
        static const unsigned char zero = 0;
        if (digest(&zero, 1, leaf_bytes, leaf_len, md) < 0) goto done;
        PyObject *leaf_hash = PyBytes_FromStringAndSize((const char *)md, 32);
        if (leaf_hash == NULL) goto done;
        int failed = PyList_Append(leaves, leaf_hash);
        Py_DECREF(leaf_hash);
        if (failed) goto done;
    }
    record = PyUnicode_FromStringAndSize(record_hex, 64);
    entry = record ? PyUnicode_FromStringAndSize(entry_hex, 64) : NULL;
    if (entry == NULL) goto done;
    row = PyTuple_Pack(7, seq, kind, key_text, key, record, prev, entry);
    if (row == NULL || PyList_Append(rows, row) < 0) goto done;
    result = entry;
    Py_INCREF(result);
done:
    Py_XDECREF(key_text);
    Py_XDECREF(seq_text);
    Py_XDECREF(leaf);
    Py_XDECREF(record);
    Py_XDECREF(entry);
    Py_XDECREF(row);
    return result;
}

/* --- fast_canonical.record_bytes_py ------------------------------------------------------- */

/* record_bytes(row, names, converters) -> bytes: dumps() of {names[i]: row[i]}, each value
 * through converters[i] where that is not None; NotFast (or what a converter raises) where
 * orjson might not give the canonical bytes. */
static PyObject *record_bytes(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyTuple_Check(args[1]) || !PyTuple_Check(args[2]) ||
        PyTuple_GET_SIZE(args[1]) != PyTuple_GET_SIZE(args[2])) {
        PyErr_SetString(PyExc_TypeError, "record_bytes(row, names, converters): two tuples alike");
        return NULL;
    }
    if (dumps == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "record_bytes: configure() first");
        return NULL;
    }
    PyObject *names = args[1], *convs = args[2], *record = NULL, *out = NULL;
    PyObject *values = PySequence_Fast(args[0], "record_bytes: the row is not a sequence");
    if (values == NULL) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(names);
    if (PySequence_Fast_GET_SIZE(values) < n) {
        PyErr_SetString(PyExc_ValueError, "record_bytes: the row is shorter than the names");
        goto done;
    }
    record = PyDict_New();
    if (record == NULL) goto done;
    PyObject **items = PySequence_Fast_ITEMS(values);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *conv = PyTuple_GET_ITEM(convs, i);
        int failed;
        if (conv == Py_None) {
            failed = PyDict_SetItem(record, PyTuple_GET_ITEM(names, i), items[i]);
        } else {
            PyObject *v = PyObject_CallOneArg(conv, items[i]);
            if (v == NULL) goto done;
            failed = PyDict_SetItem(record, PyTuple_GET_ITEM(names, i), v);
            Py_DECREF(v);
        }
        if (failed) goto done;
    }
    PyObject *call[2] = {record, dumps_option};
    out = PyObject_Vectorcall(dumps, call, 1, dumps_kwnames);
    if (out == NULL) {
        if (PyErr_ExceptionMatches(encode_error)) {
            PyErr_Clear();
            raise_not_fast();
        }
        goto done;
    }
    if (!PyBytes_Check(out)) {
        PyErr_SetString(PyExc_TypeError, "record_bytes: dumps gave no bytes");
        Py_CLEAR(out);
        goto done;
    }
    if (differs((const unsigned char *)PyBytes_AS_STRING(out), PyBytes_GET_SIZE(out))) {
        Py_CLEAR(out);
        raise_not_fast();
    }
done:
    Py_DECREF(values);
    Py_XDECREF(record);
    return out;
}

/* --- merkle.frontier_extend_py ------------------------------------------------------------ */

/* frontier_extend(frontier, size, leaves) -> size: each leaf hash appended to the frontier of a
 * tree of size leaves (in place), merging as a binary counter carries; a merge is
 * SHA-256(0x01 || left || right). Nodes and leaves are 32-byte digests. */
static PyObject *frontier_extend(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "frontier_extend(frontier: list, size, leaves)");
        return NULL;
    }
    PyObject *frontier = args[0];
    unsigned long long size = PyLong_AsUnsignedLongLong(args[1]);
    if (size == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
    unsigned char nodes[64][32]; /* one per bit of a 64-bit size */
    Py_ssize_t f = PyList_GET_SIZE(frontier);
    if (f > 64) {
        PyErr_SetString(PyExc_ValueError, "frontier_extend: more than 64 nodes");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < f; i++) {
        PyObject *node = PyList_GET_ITEM(frontier, i);
        if (!PyBytes_Check(node) || PyBytes_GET_SIZE(node) != 32) {
            PyErr_SetString(PyExc_ValueError, "frontier_extend: a node is not a 32-byte digest");
            return NULL;
        }
        memcpy(nodes[i], PyBytes_AS_STRING(node), 32);
    }
    PyObject *it = PyObject_GetIter(args[2]), *leaf;
    if (it == NULL) return NULL;
    static const unsigned char one = 1;
    while ((leaf = PyIter_Next(it)) != NULL) {
        if (!PyBytes_Check(leaf) || PyBytes_GET_SIZE(leaf) != 32) {
            Py_DECREF(leaf);
            Py_DECREF(it);
            PyErr_SetString(PyExc_ValueError, "frontier_extend: a leaf is not a 32-byte digest");
            return NULL;
        }
        unsigned char node[64];
        memcpy(node + 32, PyBytes_AS_STRING(leaf), 32);
        Py_DECREF(leaf);
        for (unsigned long long n = size; n & 1; n >>= 1) {
            if (f == 0) {
                Py_DECREF(it);
                PyErr_SetString(PyExc_IndexError, "frontier_extend: the frontier is short of size");
                return NULL;
            }
            memcpy(node, nodes[--f], 32); /* left || right */
            if (digest(&one, 1, (const char *)node, 64, node + 32) < 0) {
                Py_DECREF(it);
                return NULL;
            }
        }
        if (f == 64) {
            Py_DECREF(it);
            PyErr_SetString(PyExc_OverflowError, "frontier_extend: the tree is too large");
            return NULL;
        }
        memcpy(nodes[f++], node + 32, 32);
        size++;
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) return NULL;
    PyObject *out = PyList_New(f);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < f; i++) {
        PyObject *node = PyBytes_FromStringAndSize((const char *)nodes[i], 32);
        if (node == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, node);
    }
    int failed = PyList_SetSlice(frontier, 0, PY_SSIZE_T_MAX, out);
    Py_DECREF(out);
    if (failed) return NULL;
    return PyLong_FromUnsignedLongLong(size);
}

/* configure(NotFast, orjson.dumps, options, orjson.JSONEncodeError) */
static PyObject *configure(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4 || !PyExceptionClass_Check(args[0]) || !PyCallable_Check(args[1]) ||
        !PyExceptionClass_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "configure(NotFast, dumps, options, JSONEncodeError)");
        return NULL;
    }
    /* interned: orjson matches its keyword by identity */
    PyObject *option = PyUnicode_InternFromString("option");
    if (option == NULL) return NULL;
    PyObject *kwnames = PyTuple_Pack(1, option);
    Py_DECREF(option);
    if (kwnames == NULL) return NULL;
    Py_INCREF(args[0]);
    Py_XSETREF(not_fast, args[0]);
    Py_INCREF(args[1]);
    Py_XSETREF(dumps, args[1]);
    Py_INCREF(args[2]);
    Py_XSETREF(dumps_option, args[2]);
    Py_INCREF(args[3]);
    Py_XSETREF(encode_error, args[3]);
    Py_XSETREF(dumps_kwnames, kwnames);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"may_differ", may_differ, METH_O, "fast_canonical._may_differ"},
    {"sqlite_datetime", sqlite_datetime, METH_O, "fast_canonical.sqlite_datetime"},
    {"link", (PyCFunction)(void (*)(void))chain_link, METH_FASTCALL, "sequencer._link_py"},
    {"record_bytes", (PyCFunction)(void (*)(void))record_bytes, METH_FASTCALL,
     "fast_canonical.record_bytes_py"},
    {"frontier_extend", (PyCFunction)(void (*)(void))frontier_extend, METH_FASTCALL,
     "merkle.frontier_extend_py"},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL,
     "NotFast, orjson.dumps, its options and orjson.JSONEncodeError"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    ctx = EVP_MD_CTX_new();
    if (sha256_md == NULL || ctx == NULL) {
        PyErr_SetString(PyExc_ImportError, "OpenSSL's SHA-256 is not available");
        return NULL;
    }
    return PyModule_Create(&module);
}
