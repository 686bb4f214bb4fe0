"""test_auto_enum.py — C23 `auto` and enum values by name, through the real kernel.

`auto z = 3.5;` defines a double that later cells, %whos and redefinition notes know
as a double; `auto A = mat_eye(2);` a mat; string literals and arrays decay to
pointers; what auto cannot do is an error that says why, and the session is unchanged
after it. An enum variable shown as a cell's result reads `GREEN (1)`, a value no
enumerator has `5 (enum color)`; other expressions stay numbers.
"""
import unittest

from harness import SessionTest


class AutoEnumTests(SessionTest):
    def fails(self, code):
        r = self.k.execute(code)
        self.assertEqual(r.status, "error", (code, r.content))
        return r.content

    def whos_types(self):
        """{name: type} from %whos (a type may have spaces: columns are fixed)."""
        lines = self.ok("%whos").stdout.splitlines()
        head = lines[0]
        t0, c0 = head.index("Type"), head.index("Cell")
        types = {}
        for line in lines[2:]:
            if not line.strip() or line.startswith("runtime memory"):
                continue
            types[line[:t0].strip()] = line[t0:c0].strip()
        return types

    def test_auto_double_across_cells(self):
        self.ok("auto z = 3.5;")
        self.assertEqual(self.value("z * 2"), "7.0")
        self.assertEqual(self.whos_types()["z"], "double")
        r = self.ok("auto z = 1;")
        self.assertIn("note: z was double", r.stdout)
        self.assertIn("now int", r.stdout)
        self.assertEqual(self.value("z + 1"), "2")
        self.assertEqual(self.whos_types()["z"], "int")

    def test_auto_runtime_types_and_calls(self):
        self.ok("auto A = mat_eye(2);")
        shown = self.value("A")
        self.assertIn("mat 2x2", shown)
        self.assertIn("[[1. 0.]", shown)
        self.assertEqual(self.value("mat_get(A, 1, 1) + mat_get(A, 0, 1)"), "1.0")
        self.ok('const char *word = "cairn";\nauto len = strlen(word);')
        self.assertEqual(self.value("len"), "5")
        self.assertEqual(self.whos_types()["len"], "unsigned long")
        self.ok("auto sv = svd_thin(mat_eye(3));")
        self.assertEqual(self.whos_types()["sv"], "svd_result")
        self.assertIn("mat 1x3", self.value("sv.S"))

    def test_auto_decays_and_keeps_structs(self):
        self.ok('int arr[3] = {7, 8, 9};\nauto p = &arr[0];\nauto s = "abc";\nauto d = arr;')
        self.assertEqual(self.value("p[1] + d[2]"), "17")
        self.assertEqual(self.value("s"), '"abc"')
        types = self.whos_types()
        self.assertEqual(types["p"], "int *")
        self.assertEqual(types["s"], "char *")
        self.assertEqual(types["d"], "int *")
        self.ok("typedef struct pt { double x, y; } pt;\npt origin = {1, -2};")
        self.ok("auto copy = origin;\nstatic auto where = &copy;\nconst auto k = 2;")
        self.assertEqual(self.value("copy"), "pt {x = 1.0, y = -2.0}")
        self.assertEqual(self.value("where->y * k"), "-4.0")
        types = self.whos_types()
        self.assertEqual(types["copy"], "pt")
        self.assertEqual(types["where"], "pt *")
        self.assertEqual(types["k"], "const int")

    def test_auto_inside_functions_and_loops(self):
        self.ok("double halve(int n) { auto h = n / 2.0; auto int one = 1; return h * one; }")
        self.assertEqual(self.value("halve(5)"), "2.5")
        r = self.ok('for (auto t = 0.5; t < 2; t += 1) printf("%g\\n", t);')
        self.assertEqual(r.stdout, "0.5\n1.5\n")

    def test_auto_errors_read_well(self):
        c = self.fails("auto nothing;")
        self.assertIn("'nothing' needs an initializer", c["evalue"])
        c = self.fails("auto a1 = 1, a2 = 2.0;")
        self.assertIn("one variable at a time", c["evalue"])
        c = self.fails("auto fn = sin;")
        self.assertEqual(c["ename"], "TypeError")
        self.assertIn("line 1, column 6", c["evalue"])
        self.assertIn("'fn'", c["evalue"])
        self.assertIn("write its type", c["evalue"])
        self.assertIn("  auto fn = sin;", c["traceback"])
        # The failed cells defined nothing.
        types = self.whos_types()
        for name in ("nothing", "a1", "fn"):
            self.assertNotIn(name, types)

    def test_enum_by_name(self):
        self.assertEqual(self.value("enum color {RED, GREEN, BLUE};\nenum color c = GREEN;\nc"), "GREEN (1)")
        self.assertEqual(self.value("c"), "GREEN (1)")
        self.assertEqual(self.value("c = 5;\nc"), "5 (enum color)")
        self.assertEqual(self.value("c + 1"), "6")  # an expression: a number, as before
        self.ok("typedef enum { LOW = -1, MID, HIGH = 10 } level;\nlevel lv = LOW;")
        self.assertEqual(self.value("lv"), "LOW (-1)")
        self.ok("typedef enum color color_t;\ncolor_t ct = BLUE;")
        self.assertEqual(self.value("ct"), "BLUE (2)")
        self.assertEqual(self.value("int plain = 3;\nplain"), "3")

    def whos_values(self):
        lines = self.ok("%whos").stdout.splitlines()
        v0 = lines[0].index("Value")
        return {line.split()[0]: line[v0:].strip() for line in lines[2:]
                if line.strip() and not line.startswith("runtime memory")}

    def test_enum_in_whos_and_structs(self):
        self.ok("enum mode {OFF, ON = 'y', AUTO /* 122 */};\nenum mode m = AUTO;\n"
                "struct cfg { enum mode how; double gain; } cfg0 = {ON, 0.5};")
        values = self.whos_values()
        self.assertEqual(values["m"], "AUTO (122)")
        self.assertEqual(values["cfg0"], "struct cfg {how = ON (121), gain = 0.5}")
        self.assertEqual(self.value("cfg0"), "struct cfg {how = ON (121), gain = 0.5}")
        # A typedef'd struct with an enum member is a struct, not an enum.
        self.ok("typedef struct { enum mode how; int n; } tcfg;\ntcfg t0 = {OFF, 7};")
        self.assertEqual(self.whos_values()["t0"], "tcfg {how = OFF (0), n = 7}")
        self.assertEqual(self.value("t0"), "tcfg {how = OFF (0), n = 7}")
        self.ok("m = 3;")
        self.assertEqual(self.whos_values()["m"], "3 (enum mode)")


if __name__ == "__main__":
    unittest.main()
