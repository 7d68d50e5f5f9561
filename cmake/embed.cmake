# Writes the bytes of file IN as a C++ array named NAME into header OUT.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "// generated from ${IN}\n#pragma once\ninline constexpr unsigned char ${NAME}[] = {${bytes}};\n")
