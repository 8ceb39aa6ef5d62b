/// Docker-style names for containers started without --name: adjective_surname.
public enum NameGenerator {
    static let adjectives = [
        "admiring", "agitated", "amazing", "angry", "awesome", "blissful", "bold", "brave", "busy",
        "charming", "clever", "compassionate", "competent", "confident", "cool", "dazzling", "determined",
        "distracted", "dreamy", "eager", "ecstatic", "elastic", "elegant", "epic", "exciting", "fervent",
        "festive", "focused", "friendly", "frosty", "funny", "gallant", "gifted", "goofy", "gracious",
        "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible", "inspiring", "intelligent",
        "interesting", "jolly", "keen", "kind", "laughing", "loving", "lucid", "magical", "modest",
        "musing", "mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic", "objective",
        "optimistic", "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky", "quizzical",
        "relaxed", "reverent", "romantic", "serene", "sharp", "silly", "sleepy", "stoic", "strange",
        "suspicious", "sweet", "tender", "thirsty", "trusting", "upbeat", "vibrant", "vigilant",
        "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
    ]
    static let surnames = [
        "agnesi", "albattani", "allen", "archimedes", "babbage", "banach", "bardeen", "bartik", "bell",
        "bhabha", "blackwell", "bohr", "booth", "borg", "bose", "brattain", "brown", "carson", "cerf",
        "chandrasekhar", "clarke", "curie", "darwin", "davinci", "dijkstra", "einstein", "elion",
        "engelbart", "euclid", "euler", "faraday", "fermat", "fermi", "feynman", "franklin", "galileo",
        "gauss", "goldberg", "goodall", "hamilton", "hawking", "heisenberg", "hermann", "hodgkin",
        "hopper", "hypatia", "jackson", "jang", "johnson", "kalam", "kapitsa", "keller", "kepler",
        "knuth", "kowalevski", "lamarr", "lamport", "leakey", "leavitt", "lovelace", "lumiere", "mayer",
        "mccarthy", "mcclintock", "meitner", "mendel", "merkle", "mirzakhani", "montalcini", "morse",
        "napier", "nash", "newton", "nobel", "noether", "pare", "pascal", "pasteur", "payne", "perlman",
        "pike", "poincare", "ptolemy", "raman", "ramanujan", "ritchie", "rosalind", "sammet", "shannon",
        "shockley", "sinoussi", "stonebraker", "swanson", "tesla", "thompson", "torvalds", "turing",
        "varahamihira", "volhard", "wescoff", "wiles", "williams", "wilson", "wing", "wozniak", "wright",
        "yalow", "yonath",
    ]

    /// A random name not in `taken` (retries, then adds a digit as Docker does).
    public static func generate(taken: Set<String> = []) -> String {
        for attempt in 0..<10 {
            var name = "\(adjectives.randomElement()!)_\(surnames.randomElement()!)"
            if attempt > 0 { name += String(Int.random(in: 0..<10)) }
            if !taken.contains(name) { return name }
        }
        return "\(adjectives.randomElement()!)_\(surnames.randomElement()!)\(Int.random(in: 10..<100_000))"
    }
}
