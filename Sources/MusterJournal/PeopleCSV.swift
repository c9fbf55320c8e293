/// The people directory as CSV (`muster people import|export`, `docs/people.md`): an HR export with a header row
/// naming its columns in any order (`name` required; `email`, `phone`, `slack_id`, `mattermost_user`, `groups`
/// separated by `;`, `site`, `deputy`), fields quoted as RFC 4180 says. Problems name the line of the file (a
/// quoted field may span lines: the record's first line) and the column (the field's place in the row, from 1).
public enum PeopleCSV {
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public var message: String

        public init(line: Int, column: Int, message: String) {
            self.line = line
            self.column = column
            self.message = message
        }

        /// `LINE:COLUMN: why`; the CLI puts the file's name in front.
        public var description: String { "\(line):\(column): \(message)" }
    }

    /// One person read from the file, with where it came from.
    public struct Row: Sendable, Hashable {
        public var line: Int
        public var person: Person
    }

    /// What `parse` read: the rows, and which column holds each field (to place a problem found later, such as a
    /// deputy nobody is called).
    public struct File: Sendable, Hashable {
        public var rows: [Row]
        public var columns: [Person.Field: Int]

        /// Where `problem` (of the person at `problem.record`) is in the file; the name's column when its field has none.
        public func locate(_ problem: PersonProblem) -> Problem {
            let line = problem.record.flatMap { rows.indices.contains($0) ? rows[$0].line : nil } ?? 1
            return Problem(line: line, column: columns[problem.field] ?? columns[.name] ?? 1, message: problem.message)
        }
    }

    /// The columns `render` writes, in its order.
    public static let header: [Person.Field] = Person.Field.allCases

    /// Reads a whole file: the header, then one person per record, each checked field by field (`Person.problem`).
    /// The first problem stops the reading.
    public static func parse(_ text: String) -> Result<File, Problem> {
        let records: [(line: Int, fields: [String])]
        switch Self.records(text) {
        case .success(let found): records = found
        case .failure(let problem): return .failure(problem)
        }
        guard let head = records.first else { return .failure(Problem(line: 1, column: 1, message: "the file is empty: it needs a header row naming its columns, like name,email,phone")) }
        var columns: [Person.Field: Int] = [:]
        for (index, title) in head.fields.enumerated() {
            let key = title.trimmed.lowercased()
            guard let field = Person.Field(rawValue: key) else {
                return .failure(Problem(line: head.line, column: index + 1, message: "unknown column '\(title.prefix(40))' (the columns are \(header.map(\.rawValue).joined(separator: ", ")))"))
            }
            if columns[field] != nil {
                return .failure(Problem(line: head.line, column: index + 1, message: "the column '\(key)' is named twice"))
            }
            columns[field] = index + 1
        }
        guard columns[.name] != nil else {
            return .failure(Problem(line: head.line, column: 1, message: "the header has no 'name' column"))
        }
        var rows: [Row] = []
        for record in records.dropFirst() {
            guard record.fields.count == head.fields.count else {
                return .failure(Problem(line: record.line, column: min(record.fields.count, head.fields.count + 1),
                                        message: "this row has \(record.fields.count) fields, the header \(head.fields.count)"))
            }
            func value(_ field: Person.Field) -> String? {
                guard let column = columns[field] else { return nil }
                let text = record.fields[column - 1].trimmed
                return text.isEmpty ? nil : text
            }
            let groups = value(.groups).map { $0.split(separator: ";").map { String($0).trimmed }.filter { !$0.isEmpty } } ?? []
            let person = Person(name: value(.name) ?? "", email: value(.email), phone: value(.phone), slackID: value(.slackID),
                                mattermostUser: value(.mattermostUser), groups: groups, site: value(.site), deputy: value(.deputy))
            if let problem = person.problem {
                return .failure(Problem(line: record.line, column: columns[problem.field] ?? columns[.name]!, message: problem.message))
            }
            rows.append(Row(line: record.line, person: person))
        }
        return .success(File(rows: rows, columns: columns))
    }

    /// The directory as a file `parse` reads back: the header, then one line per person, `\n` line ends.
    public static func render(_ people: [Person]) -> String {
        var out = header.map(\.rawValue).joined(separator: ",") + "\n"
        for person in people {
            out += header.map { quoted(person.text($0) ?? "") }.joined(separator: ",") + "\n"
        }
        return out
    }

    /// A field as RFC 4180 writes it: in double quotes (doubled inside) when it holds a comma, a quote, a line
    /// break, or space at either end.
    static func quoted(_ field: String) -> String {
        let needs = field.unicodeScalars.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }
            || field.first?.isWhitespace == true || field.last?.isWhitespace == true
        return needs ? "\"" + field.quotesDoubled + "\"" : field
    }

    /// RFC 4180 records with the line each starts on. Line ends: CRLF, LF or CR. Blank lines are skipped; a UTF-8
    /// byte order mark (spreadsheet exports) is dropped. A quote inside an unquoted field, anything but a comma or a
    /// line end after a closing quote, and a quote never closed are problems.
    static func records(_ text: String) -> Result<[(line: Int, fields: [String])], Problem> {
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var line = 1
        var recordLine = 1
        var quotedFieldLine = 1
        var index = 0
        var inQuotes = false
        var afterQuote = false
        var fieldStarted = false

        func endRecord() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            if !(fields.count == 1 && fields[0].trimmed.isEmpty) { records.append((recordLine, fields)) }
            fields = []
            afterQuote = false
            fieldStarted = false
        }

        while index < scalars.count {
            let c = scalars[index]
            index += 1
            if inQuotes {
                if c == "\"" {
                    if index < scalars.count, scalars[index] == "\"" {
                        field.append("\"")
                        index += 1
                    } else {
                        inQuotes = false
                        afterQuote = true
                    }
                } else {
                    if c == "\n" || (c == "\r" && (index >= scalars.count || scalars[index] != "\n")) { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case ",":
                fields.append(String(field))
                field = String.UnicodeScalarView()
                afterQuote = false
                fieldStarted = false
            case "\r", "\n":
                if c == "\r", index < scalars.count, scalars[index] == "\n" { index += 1 }
                endRecord()
                line += 1
                recordLine = line
            case "\"":
                if afterQuote || fieldStarted {
                    return .failure(Problem(line: line, column: fields.count + 1, message: "a quote inside a field that does not start with one (RFC 4180: quote the whole field and double the quote)"))
                }
                inQuotes = true
                field = String.UnicodeScalarView()
                quotedFieldLine = line
                fieldStarted = true
            default:
                if afterQuote {
                    if c == " " || c == "\t" { continue }
                    return .failure(Problem(line: line, column: fields.count + 1, message: "text after a closing quote (a quote inside a quoted field is doubled: \"\")"))
                }
                if !(field.isEmpty && (c == " " || c == "\t")) { fieldStarted = true }
                field.append(c)
            }
        }
        if inQuotes {
            return .failure(Problem(line: quotedFieldLine, column: fields.count + 1, message: "a quoted field is never closed"))
        }
        if !fields.isEmpty || !field.isEmpty || afterQuote { endRecord() }
        return .success(records)
    }
}

extension String {
    fileprivate var trimmed: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }

    /// Every `"` doubled.
    fileprivate var quotesDoubled: String {
        var out = ""
        for c in self { out += c == "\"" ? "\"\"" : String(c) }
        return out
    }
}
