"""test_conditionals.py — top-level conditional compilation through the real kernel.

Definitions inside a conditional group tcc skips (`#if 0`, `#ifdef NOT_DEFINED`, the
`#else` of a true `#if`, the untaken arms of an `#elif` chain) must not reach later cells:
no variable, function, macro, type or typedef name, no entry in %who or in completion,
and no replacing of an older definition of the same name. The groups tcc compiles work
as in one C file: their definitions are kept, whatever later cells define. The text
of an `#if 0` group need not be C.
"""
import unittest

from harness import SessionTest


class ConditionalTests(SessionTest):
    def fails(self, code):
        r = self.k.execute(code)
        self.assertEqual(r.status, "error", (code, r.content))
        return r.content.get("evalue", "")

    def who(self):
        return self.ok("%who").stdout.split()

    def completions(self, prefix):
        reply = self.k.request("complete_request", {"code": prefix, "cursor_pos": len(prefix)})
        return reply["content"]["matches"]

    def test_if_0_hides_a_variable(self):
        self.ok("#if 0\nint hidden = 3;\n#endif\nint shown = 4;")
        evalue = self.fails("hidden")
        self.assertIn("'hidden' undeclared", evalue)
        self.assertNotIn("undefined symbol", evalue)
        self.assertEqual(self.value("shown"), "4")
        names = self.who()
        self.assertIn("shown", names)
        self.assertNotIn("hidden", names)
        self.assertNotIn("hidden", self.completions("hidd"))
        self.assertIn("shown", self.completions("show"))

    def test_ifdef_else_follows_the_macro(self):
        pick = "#ifdef USE_FAST\nint v = 1;\n#else\nint v = 2;\n#endif"
        self.ok(pick)
        self.assertEqual(self.value("v"), "2")
        self.ok("#define USE_FAST")
        self.ok(pick)
        self.assertEqual(self.value("v"), "1")
        # The type comes from the group that was compiled too.
        self.ok("#ifdef USE_FAST\ndouble w = 0.5;\n#else\nint w = 3;\n#endif")
        self.assertEqual(self.value("w * 3"), "1.5")
        # Shown in the same cell: the value of the group tcc compiled.
        self.assertEqual(self.value("#ifdef NOT_DEFINED\ndouble dv = 1.5;\n#else\nint dv = 2;\n#endif\ndv"), "2")

    def test_if_on_a_macro_of_an_earlier_cell(self):
        self.ok("#define LEVELS 3")
        self.ok("#if LEVELS > 2\nint deep = 1;\n#define MODE 10\n#else\nint deep = 0;\n#define MODE 20\n#endif")
        self.assertEqual(self.value("deep * 100 + MODE"), "110")
        # A later change of LEVELS does not undo what was compiled.
        self.ok("#undef LEVELS\n#define LEVELS 1")
        self.assertEqual(self.value("deep * 100 + MODE"), "110")

    def test_nested_and_defined(self):
        self.ok("#define HAVE_X 1\n#define N_CH 4")
        self.ok("#if defined(HAVE_X) && N_CH > 2\n"
                "#  ifdef NOT_DEFINED_AT_ALL\nint arm = 1;\n"
                "#  elif N_CH == 4\nint arm = 2;\ntypedef struct { int r, g, b, a; } pixel;\n"
                "#  else\nint arm = 3;\n#  endif\n"
                "#elif 1\nint arm = 4;\n#else\nint arm = 5;\n#endif")
        self.assertEqual(self.value("arm"), "2")
        self.assertEqual(self.value("pixel px = {1, 2, 3, 4};\npx.a * 10 + arm"), "42")

    def test_false_groups_define_no_macro_type_or_typedef(self):
        self.ok("double foo = 6, bar = 7;")
        self.ok("#ifdef NOT_DEFINED\n#define HIDDEN_M 3\ntypedef int foo;\nstruct hid { int q; };\n"
                "void quiet(void) {}\n#endif")
        self.assertIn("'HIDDEN_M' undeclared", self.fails("HIDDEN_M"))
        # foo is no type name: `foo * bar` is a product, not a declaration.
        self.assertEqual(self.value("foo * bar"), "42.0")
        self.fails("struct hid h;")  # an incomplete type: no storage size
        self.assertIn("quiet", self.fails("quiet()"))
        self.assertNotIn("quiet", self.who())

    def test_else_of_a_true_if(self):
        self.ok("#if 1\n#define CHOSEN 1\nstruct cfg { int a; };\n#else\n#define CHOSEN 2\n"
                "struct cfg { double a, b, c; };\n#endif")
        self.assertEqual(self.value("CHOSEN * 100 + (int)sizeof(struct cfg)"), "104")

    def test_a_skipped_definition_keeps_the_older_one(self):
        self.ok("int keep = 7;\n#define KEEP_M 1\nstruct kept { int a; };\nint kf(void) { return 5; }")
        self.ok("#if 0\ndouble keep = 1.5;\n#define KEEP_M 5\nstruct kept { double x, y; };\n"
                "int kf(void) { return 6; }\n#endif\nint seen_here = KEEP_M;")
        self.assertEqual(self.value("seen_here"), "1")
        self.assertEqual(self.value("keep + KEEP_M + kf() + (int)sizeof(struct kept)"), "17")
        self.assertEqual(self.value("keep"), "7")
        # A compiled group replaces it.
        self.ok("#if KEEP_M == 1\ndouble keep = 0.25;\n#endif")
        self.assertEqual(self.value("keep * 2"), "0.5")

    def test_undef_in_a_group(self):
        self.ok("#define U_KEEP 2\n#define U_GONE 3")
        self.ok("#ifdef NOT_DEFINED\n#undef U_KEEP\n#endif\n#if 1\n#undef U_GONE\n#endif")
        self.assertEqual(self.value("U_KEEP"), "2")
        self.assertIn("'U_GONE' undeclared", self.fails("U_GONE"))

    def test_if_0_text_need_not_be_c(self):
        self.ok("#if 0\nit's an old idea: f(x, \n  int broken = ;\n#else\nint if0_else = 8;\n#endif")
        self.assertEqual(self.value("if0_else"), "8")
        self.ok("int if0_body(void) {\n#if 0\n  junk (\n#endif\n  return 9;\n}")
        self.assertEqual(self.value("if0_body()"), "9")

    def test_default_macro_and_guard(self):
        default = "#ifndef SIZE_D\n#define SIZE_D 8\n#endif\nint size_d = SIZE_D;"
        self.ok(default)
        self.assertEqual(self.value("size_d"), "8")
        self.ok("#undef SIZE_D\n#define SIZE_D 16")
        self.ok(default)  # SIZE_D is defined now: the group is skipped, 16 stays
        self.assertEqual(self.value("size_d + SIZE_D"), "32")
        guarded = "#ifndef PT_GUARD\n#define PT_GUARD\nstruct pt { int x, y; };\n#endif"
        self.ok(guarded)
        self.ok(guarded)  # a second run skips the group and keeps struct pt
        self.assertEqual(self.value("struct pt p0 = {2, 3};\np0.x * p0.y"), "6")

    def test_declarations_keep_the_macro_values_they_were_compiled_with(self):
        default = "#ifndef LEN_D\n#define LEN_D 8\n#endif\ndouble buf_d[LEN_D];"
        self.ok(default)
        self.ok("#undef LEN_D\n#define LEN_D 16")
        self.assertEqual(self.value("(int)(sizeof buf_d / sizeof buf_d[0]) + LEN_D"), "24")
        self.ok("#define TMP_W 3\nstruct tw { int v[TMP_W]; };\n#undef TMP_W")
        self.assertEqual(self.value("(int)sizeof(struct tw)"), "12")

    def test_skipped_include_is_not_kept(self):
        self.ok("#if 0\n#include \"no_such_header_here.h\"\n#endif\nint inc_after = 1;")
        self.assertEqual(self.value("inc_after + 1"), "2")


if __name__ == "__main__":
    unittest.main(verbosity=2)
