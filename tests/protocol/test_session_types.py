"""test_session_types.py — types defined in earlier cells reach later cells that need them.

A unit carries only the session types its cell reaches (kernel/cell/README.md), so these
cells check the reach: through a pointer to a struct defined later, through a macro of an
earlier cell, through a typedef of a typedef, through a function's signature, and after a
struct is redefined.
"""
import unittest

from harness import SessionTest


class SessionTypeTests(SessionTest):

    def test_pointer_to_a_struct_defined_later(self):
        self.value("struct Q; struct P { struct Q *q; int n; };")
        self.value("struct Q { double x; };")
        self.value("struct Q q0 = {2.5}; struct P pp = {&q0, 3};")
        self.assertEqual(self.value("pp.q->x"), "2.5")

    def test_enum_constant_through_an_earlier_macro(self):
        self.value("enum colour { RED = 3, GREEN = 7 };")
        self.value("#define FAVOURITE GREEN")
        self.assertEqual(self.value("FAVOURITE * 2"), "14")

    def test_typedef_of_a_typedef(self):
        self.value("typedef struct { int a, b; } pair;")
        self.value("typedef pair couple;")
        self.assertEqual(self.value("couple c = {4, 5};\nc.a + c.b"), "9")

    def test_function_signature_types(self):
        self.value("typedef struct { double re, im; } cplx;")
        self.value("cplx cplx_mul(cplx a, cplx b) { cplx r = {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re}; return r; }")
        self.assertEqual(self.value("cplx_mul((cplx){0, 1}, (cplx){0, 1}).re"), "-1.0")

    def test_redefined_struct_wins(self):
        self.value("struct R { int a; };")
        self.value("struct R { int a; int b; };")
        self.assertEqual(self.value("struct R r2 = {1, 2};\nr2.b"), "2")
        self.assertEqual(self.value("(int)sizeof(struct R)"), "8")


if __name__ == "__main__":
    unittest.main(verbosity=2)
