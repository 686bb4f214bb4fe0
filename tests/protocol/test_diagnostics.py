"""test_diagnostics.py — compile errors point at the cell's line and column, quote the line,
and leave the session as it was.

tcc 0.9.27 prints "cell:L: error: msg" without a column; kernel/exec/compile.c finds the
column from where tcc's lexer was when it reported (kernel/exec/README.md, "Compile-error
columns"). Each case checks the evalue and the traceback exactly: the diagnostic line, the
quoted cell line and the caret under the column. Warnings that GCC 14 makes errors
(integer <-> pointer without a cast, incompatible pointer types, implicit declaration of a
function) are errors here too: such a cell does not run, and defines nothing.
"""
import unittest

from harness import Kernel


def caret(line, column):
    """The traceback's caret line under `column` (1-based) of the quoted `line`."""
    pad = "".join("\t" if c == "\t" else " " for c in line[:column - 1])
    return "    " + pad + "^"


class DiagnosticTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Kernel()
        cls.k.__enter__()
        r = cls.k.execute("int keep = 7;\nint twice(int v) { return 2 * v; }\n"
                          "void fill(double *v, int n) { for (int i = 0; i < n; i++) v[i] = i; }")
        assert r.status == "ok", r

    @classmethod
    def tearDownClass(cls):
        cls.k.__exit__(None, None, None)

    def compile_error(self, code, line, column, message, quoted=None):
        """Run code; it must fail to compile with exactly this first diagnostic."""
        r = self.k.execute(code)
        self.assertEqual(r.status, "error", r)
        err = r.error
        self.assertEqual(err["ename"], "CompileError", err)
        self.assertEqual(err["evalue"], "line %d, column %d: %s" % (line, column, message))
        src = quoted if quoted is not None else code.split("\n")[line - 1]
        n = r.content["execution_count"]
        self.assertEqual(err["traceback"][:3],
                         ["cell [%d], line %d, column %d: error: %s" % (n, line, column, message),
                          "    " + src,
                          caret(src, column)])
        return r

    def assert_unchanged(self):
        """What the setup cell defined is still there, and a good cell runs."""
        r = self.k.execute("keep + twice(4)")
        self.assertEqual((r.status, r.result_text), ("ok", "15"), r)

    # -- syntax errors: the token tcc stopped at -----------------------------
    def test_syntax_error_in_an_initializer(self):
        self.compile_error("int q = 1 +* ;", 1, 14, "identifier expected")
        self.assertIn("'q' undeclared", self.k.execute("q").error["evalue"])

    def test_syntax_error_on_line_3(self):
        self.compile_error("int s1 = 1;\nint s2 = 2;\nint s3 = s1 +;", 3, 14, "identifier expected")
        self.assertIn("'s1' undeclared", self.k.execute("s1").error["evalue"])
        self.assert_unchanged()

    def test_syntax_error_in_a_function_body(self):
        self.compile_error("double half(double v) {\n    double h = v / 2;\n    return h +;\n}", 3, 15,
                           "identifier expected")
        self.assertIn("implicit declaration of function 'half'", self.k.execute("half(1.0)").error["evalue"])

    def test_missing_semicolon_at_a_line_end(self):
        # tcc notices at the next line's first token; what is missing is at this line's end.
        self.compile_error("int thrice(int v) {\n    int r = 3 * v\n    return r;\n}", 2, 18,
                           "';' expected (got \"return\")")

    def test_caret_under_a_tab_indented_line(self):
        self.compile_error("void tabbed(void) {\n\tint u = 1 +* ;\n}", 2, 15, "identifier expected")

    def test_semantic_error_points_at_the_operand(self):
        self.compile_error("int p1 = 1;\nint p2 = p1 +* p1;", 2, 16, "pointer expected")

    # -- names ---------------------------------------------------------------
    def test_undefined_name(self):
        self.compile_error("int fine = 1;\nint broken = fine + undefined_name;", 2, 21, "'undefined_name' undeclared")
        self.assert_unchanged()

    def test_implicit_declaration_is_an_error(self):
        self.compile_error("double t = not_a_function(2.0);", 1, 12,
                           "implicit declaration of function 'not_a_function' (a typo, or a missing #include?)")
        self.assert_unchanged()

    # -- wrong argument types: errors, nothing runs, nothing changes ----------
    def test_wrong_argument_type_for_a_runtime_function(self):
        # Before: a warning, and the cell ran mat_zeros(2, <pointer>): a 31 GB allocation.
        r = self.compile_error("keep = 8;\nmat m = mat_zeros(2, \"x\");", 2, 22,
                               "passing argument 2 of 'mat_zeros' makes integer from pointer without a cast")
        self.assertEqual(r.stdout, "")
        # tcc's second warning on the same conversion is not repeated.
        self.assertEqual(len(r.error["traceback"]), 3, r.error["traceback"])
        self.assertEqual(self.k.execute("keep").result_text, "7")
        self.assertIn("'m' undeclared", self.k.execute("m").error["evalue"])
        self.assert_unchanged()

    def test_wrong_argument_type_for_a_user_function(self):
        self.compile_error("int r2 = twice(\"x\");", 1, 16,
                           "passing argument 1 of 'twice' makes integer from pointer without a cast")
        self.compile_error("int ints[2] = {1, 2};\nfill(ints, 2);", 2, 6,
                           "passing argument 1 of 'fill' from incompatible pointer type")
        self.compile_error("fill(2, 2);", 1, 6, "passing argument 1 of 'fill' makes pointer from integer without a cast")
        self.assertIn("'ints' undeclared", self.k.execute("ints[0]").error["evalue"])
        self.assert_unchanged()

    def test_wrong_argument_type_in_a_trailing_expression(self):
        # The expression is shown through a macro; the column is found all the same, once.
        r = self.compile_error("twice(\"x\")", 1, 7,
                               "passing argument 1 of 'twice' makes integer from pointer without a cast")
        self.assertEqual(len(r.error["traceback"]), 3, r.error["traceback"])

    def test_pointer_conversions_in_initializers(self):
        self.compile_error("int *ip = 5;", 1, 11, "assignment makes pointer from integer without a cast")
        self.compile_error("int arr[3] = {1, 2, 3};\nint *ap = arr;\ndouble *dp = ap;", 3, 14,
                           "assignment from incompatible pointer type")
        self.compile_error("char *s = 3.0;", 1, 11, "cannot convert 'double' to 'char *'")

    def test_return_value_conversion(self):
        self.compile_error("int bad_len(const char *s) {\n    return s;\n}", 2, 12,
                           "return makes integer from pointer without a cast")

    # -- argument counts -----------------------------------------------------
    def test_too_many_arguments(self):
        self.compile_error("int r3 = twice(1, 2);", 1, 19, "too many arguments to function 'twice' (it takes 1)")
        self.compile_error("twice(1, 2)", 1, 10, "too many arguments to function 'twice' (it takes 1)")
        self.assert_unchanged()

    def test_too_few_arguments(self):
        self.compile_error("int r4 = twice();", 1, 10, "too few arguments to function 'twice' (0 given)")
        self.compile_error("fill(NULL)", 1, 1, "too few arguments to function 'fill' (1 given)")

    # -- a warning stays a warning --------------------------------------------
    def test_warning_lets_the_cell_run(self):
        r = self.k.execute('const char *cs = "abc";\nchar *ms = cs;\nprintf("%s\\n", ms);')
        self.assertEqual(r.status, "ok", r)
        self.assertEqual(r.stdout, "abc\n")
        n = r.content["execution_count"]
        self.assertEqual(r.stderr.splitlines()[:3],
                         ["cell [%d], line 2, column 12: warning: assignment discards qualifiers from pointer target type" % n,
                          "    char *ms = cs;",
                          "               ^"])
        self.assertEqual(self.k.execute("ms").result_text, '"abc"')


if __name__ == "__main__":
    unittest.main(verbosity=2)
