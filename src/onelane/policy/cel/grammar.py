"""The CEL grammar for lark (LALR), written from the CEL language definition.

It is kept as a Python string, not a ``.lark`` file, so it ships with the package without
package-data rules. Rule names are the callbacks of ``parser._Builder``; named terminals
are kept in the tree so each node can carry the offset of its token.
"""

GRAMMAR = r"""
?start: expr

?expr: or_expr
     | or_expr QUESTION or_expr ":" expr -> conditional

?or_expr: and_expr
        | or_expr OR and_expr -> binary

?and_expr: relation
         | and_expr AND relation -> binary

?relation: addition
         | relation REL_OP addition -> binary
         | relation IN addition -> binary

?addition: multiplication
         | addition PLUS multiplication -> binary
         | addition MINUS multiplication -> binary

?multiplication: unary
               | multiplication MUL_OP unary -> binary

?unary: member
      | bangs member -> logical_not
      | minuses member -> negate

bangs: BANG+
minuses: MINUS+

?member: primary
       | member DOT selector -> select
       | member DOT selector LPAR args RPAR -> method
       | member LSQB expr RSQB -> index

selector: IDENT | QUOTED_IDENT

?primary: ident
        | ident LPAR args RPAR -> call
        | LPAR expr RPAR -> paren
        | LSQB RSQB -> empty_list
        | LSQB items RSQB -> list_lit
        | LSQB items COMMA RSQB -> list_lit
        | LBRACE RBRACE -> empty_map
        | LBRACE entries RBRACE -> map_lit
        | LBRACE entries COMMA RBRACE -> map_lit
        | literal

ident: IDENT
     | DOT IDENT

args: [items]

items: expr
     | items COMMA expr

entries: entry
       | entries COMMA entry

entry: expr COLON expr

literal: INT -> int_lit
       | UINT -> uint_lit
       | FLOAT -> float_lit
       | STRING -> string_lit
       | RAW_STRING -> string_lit
       | TRUE -> true_lit
       | FALSE -> false_lit
       | NULL -> null_lit

OR: "||"
AND: "&&"
REL_OP: "<=" | ">=" | "==" | "!=" | "<" | ">"
IN.3: /in(?![_a-zA-Z0-9])/
PLUS: "+"
MINUS: "-"
MUL_OP: "*" | "/" | "%"
BANG: "!"
QUESTION: "?"
COLON: ":"
COMMA: ","
DOT: "."
LPAR: "("
RPAR: ")"
LSQB: "["
RSQB: "]"
LBRACE: "{"
RBRACE: "}"

TRUE.3: /true(?![_a-zA-Z0-9])/
FALSE.3: /false(?![_a-zA-Z0-9])/
NULL.3: /null(?![_a-zA-Z0-9])/

FLOAT.4: /(?:[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|\.[0-9]+(?:[eE][+-]?[0-9]+)?)/
UINT.4: /(?:0[xX][0-9a-fA-F]+|[0-9]+)[uU]/
INT.3: /0[xX][0-9a-fA-F]+|[0-9]+/

RAW_STRING.5: /(?:[bB][rR]|[rR][bB]?)(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'[^'\n\r]*'|"[^"\n\r]*")/
STRING.5: /[bB]?(?:'''(?:\\[\s\S]|[^\\])*?'''|\"\"\"(?:\\[\s\S]|[^\\])*?\"\"\"|'(?:\\.|[^\\'\n\r])*'|"(?:\\.|[^\\"\n\r])*")/

IDENT.1: /[_a-zA-Z][_a-zA-Z0-9]*/
QUOTED_IDENT: /`[^`\n\r]+`/

COMMENT: /\/\/[^\n]*/
WS: /[ \t\n\r\f]+/
%ignore WS
%ignore COMMENT
"""
