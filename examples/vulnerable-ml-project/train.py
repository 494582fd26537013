"""A stand-in training script: the point of this example is its requirements.txt."""

if __name__ == "__main__":
    print("training...")
