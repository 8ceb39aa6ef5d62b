import Testing
import Formatting

struct TabWriterTests {
    @Test func dockerServiceTable() {
        // minwidth 10, padding 3: a column is max(10, widest cell + 3) wide;
        // the last cell of each line is never padded.
        let input = """
            ID\tNAME\tMODE\tREPLICAS\tIMAGE\tPORTS
            kbd2l7w0abgmsrdp9e5c8qiba\tweb\treplicated\t3/3\tnginx:latest\t*:8080->80/tcp
            x9ttfc5n5a2u1ia0u4tq7zhvt\tredis\tglobal\t1/1\tredis:7\t

            """
        let expected = [
            "ID                          NAME      MODE         REPLICAS   IMAGE          PORTS",
            "kbd2l7w0abgmsrdp9e5c8qiba   web       replicated   3/3        nginx:latest   *:8080->80/tcp",
            // The empty PORTS cell leaves IMAGE's padding at the end of the line, as in docker.
            "x9ttfc5n5a2u1ia0u4tq7zhvt   redis     global       1/1        redis:7        ",
            "",
        ].joined(separator: "\n")
        #expect(TabWriter.format(input) == expected)
    }

    @Test func shortCellsGetMinimumWidth() {
        #expect(TabWriter.format("ID\tNAME\n") == "ID        NAME\n")
        #expect(TabWriter.format("a\tb\tc\n") == "a         b         c\n")
        // An empty cell is padded like any other.
        #expect(TabWriter.format("\tb\n") == "          b\n")
    }

    @Test func trailingTextWithoutNewline() {
        #expect(TabWriter.format("a\tb") == "a         b")
        #expect(TabWriter.format("no tabs at all") == "no tabs at all")
        #expect(TabWriter.format("") == "")
    }

    @Test func columnsAreContiguousBlocks() {
        // Go's documentation example (minwidth 0, padding 1): b and c are in
        // different columns because the third line has no cell there.
        var w = TabWriter(minWidth: 0, tabWidth: 8, padding: 1, padChar: " ")
        w.write("aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n")
        #expect(w.flush() == "aaaa bbb d\naa   b   dd\na    \naa   cccc eee\n")
    }

    @Test func lineWithoutTabsEndsTheColumns() {
        // "ccc" has one cell, so Go flushes: the lines after it are sized alone.
        #expect(TabWriter.format("a\tb\nccc\nlonger-cell\tx\n") == "a         b\nccc\nlonger-cell   x\n")
        #expect(TabWriter.format("longer-cell\tx\n\na\tb\n") == "longer-cell   x\n\na         b\n")
    }

    @Test func terminatingTabMakesTheLastCellAColumn() {
        // With a trailing tab the last text is a cell of a column and is padded.
        #expect(TabWriter.format("a\tb\t\n") == "a         b         \n")
    }

    @Test func wideCharactersCountTwoColumns() {
        #expect(TabWriter.format("日本\tx\nab\ty\n") == "日本      x\nab        y\n")
        #expect(TabWriter.format("e\u{301}\tx\n") == "e\u{301}         x\n")
    }

    @Test func streamingWritesMatchOneWrite() {
        var w = TabWriter()
        w.write("ID\tNA")
        w.write("ME\nabc\tweb\n")
        #expect(w.flush() == "ID        NAME\nabc       web\n")
    }

    @Test func tabPadding() {
        var w = TabWriter(minWidth: 0, tabWidth: 8, padding: 1, padChar: "\t")
        w.write("a\tb\nlonger text\tc\n")
        #expect(w.flush() == "a\t\tb\nlonger text\tc\n")
    }
}
