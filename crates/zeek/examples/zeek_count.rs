//! Reads every file under the given paths and prints, per file, its format, record count and
//! problems, or the error that stopped it. A quick check of the reader on a log collection.
//!
//! Usage: `cargo run -p zeek --example zeek_count -- FILE_OR_DIR...`

use zeek::{FileReader, ReadOptions, discover};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    for file in discover(&paths)? {
        match FileReader::open(&file.path, &ReadOptions::default()) {
            Err(error) => println!("{}\tERROR\t{error}", file.path.display()),
            Ok(mut reader) => {
                let mut records = 0u64;
                let outcome = loop {
                    match reader.next_record() {
                        Ok(Some(_)) => records += 1,
                        Ok(None) => break Ok(()),
                        Err(error) => break Err(error),
                    }
                };
                let format = reader
                    .format()
                    .map_or("?".to_owned(), |format| format.to_string());
                match outcome {
                    Ok(()) => println!(
                        "{}\t{format}\t{}\trecords={records}\tproblems={}",
                        file.path.display(),
                        reader.compression(),
                        reader.problems().total()
                    ),
                    Err(error) => println!("{}\tERROR\t{error}", file.path.display()),
                }
                for problem in reader.problems().kept().iter().take(3) {
                    println!("  {problem}");
                }
            }
        }
    }
    Ok(())
}
