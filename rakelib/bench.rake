task bench: :compile
