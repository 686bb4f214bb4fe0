"""test_arrays.py — arrays of the session as a user sees them.

Sizes written with macros or expressions (`double xs[N]`, `int m[2 * K][3]`) are
measured when the cell compiles, so %whos, `?name` and a trailing name show the shape,
the memory and the values: nested braces for 2-D arrays, char arrays as strings, long
arrays summarized with their last element as NumPy does, arrays inside structs too.
"""
import re
import unittest

from harness import SessionTest


class ArrayTests(SessionTest):
    def whos(self):
        """{name: (type, memory, value)} from %whos (columns are separated by 2+ spaces)."""
        rows = {}
        for line in self.ok("%whos").stdout.splitlines()[2:]:
            parts = re.split(r"\s{2,}", line.strip())
            if len(parts) == 5:
                rows[parts[0]] = (parts[1], parts[3], parts[4])
        return rows

    def test_shapes_values_and_memory(self):
        self.ok("#define N 10\n#define K 2\n"
                "double squares[N];\nfor (int i = 0; i < N; i++) squares[i] = i * i;\n"
                "int grid[K][3] = {{1, 2, 3}, {4, 5, 6}};\n"
                "char word[16] = \"h\u00e9llo\";\n"
                "char names[3][8] = {\"ab\", \"cd\", \"ef\"};\n"
                "long big[1000];\nbig[999] = 7;")
        rows = self.whos()
        self.assertEqual(rows["squares"], ("double [10]", "80 B", "{0.0, 1.0, 4.0, 9.0, 16.0, 25.0, ..., 81.0}"))
        self.assertEqual(rows["grid"], ("int [2][3]", "24 B", "{{1, 2, 3}, {4, 5, 6}}"))
        self.assertEqual(rows["word"], ("char [16]", "16 B", "\"h\u00e9llo\""))
        self.assertEqual(rows["names"], ("char [3][8]", "24 B", "{\"ab\", \"cd\", \"ef\"}"))
        self.assertEqual(rows["big"][:2], ("long [1000]", "7.8 KiB"))
        self.assertEqual(self.ok("squares").result_text, "double [10] {0.0, 1.0, 4.0, 9.0, 16.0, 25.0, ..., 81.0}")
        self.assertEqual(self.ok("grid").result_text, "int [2][3] {{1, 2, 3}, {4, 5, 6}}")
        page = self.ok("?grid").content["payload"][0]["data"]["text/plain"]
        self.assertIn("int [2][3] grid", page)
        self.assertIn("{{1, 2, 3}, {4, 5, 6}}", page)

    def test_struct_members_and_new_sizes(self):
        self.ok("typedef struct { char label[8]; double w[2]; } item;\nitem it = {\"cat\", {0.5, 1.5}};")
        self.assertEqual(self.ok("it").result_text, "item {label = \"cat\", w = {0.5, 1.5}}")
        self.ok("#define ROWS 4\nint table[ROWS][ROWS + 1];\ntable[3][4] = 9;")
        self.assertEqual(self.whos()["table"][:2], ("int [4][5]", "80 B"))
        # A new size for the same array is said, as for any change of type.
        r = self.ok("#undef ROWS\n#define ROWS 2\nint table[ROWS][ROWS + 1];")
        self.assertIn("note: table was int [4][5] (cell [", r.stdout)
        self.assertIn("now int [2][3]", r.stdout)
        self.assertEqual(self.ok("sizeof table").result_text, "24")
        # In the cell that defines it, a shape not yet measured is not passed off as 8 bytes.
        r = self.ok("#define L 3\nint fresh[L * 2];\nfresh")
        self.assertRegex(r.result_text, r"^int \[L \* 2\] at 0x[0-9a-f]+$")
        self.assertEqual(self.ok("fresh").result_text, "int [6] {0, 0, 0, 0, 0, 0}")


    def test_typedefs_sizeof_and_what_is_not_an_array(self):
        self.ok("typedef int row[4];\nrow r4 = {1, 2, 3, 4};\n#define M 2\nrow rows[M];\nrows[1][3] = 8;")
        self.assertEqual(self.ok("r4").result_text, "int [4] {1, 2, 3, 4}")
        self.assertEqual(self.ok("rows").result_text, "int [2][4] {{0, 0, 0, 0}, {0, 0, 0, 8}}")
        rows = self.whos()
        self.assertEqual(rows["r4"], ("row", "16 B", "{1, 2, 3, 4}"))
        self.assertEqual(rows["rows"][:2], ("row [2]", "32 B"))
        self.ok("int by_sizeof[sizeof(int)];")
        self.assertEqual(self.whos()["by_sizeof"], ("int [4]", "16 B", "{0, 0, 0, 0}"))
        # A struct whose body holds an array is not an array, though its type text has [.
        r = self.ok("struct { int z[2]; } anon = {{1, 2}};\nanon")
        self.assertEqual(r.result_text, "<struct { int z [ 2 ] ; }: 8 bytes>")


if __name__ == "__main__":
    unittest.main()
