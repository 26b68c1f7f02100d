package main

func genQgemm(a *asm) {}

func genQgemmDecl(a *asm) {}
