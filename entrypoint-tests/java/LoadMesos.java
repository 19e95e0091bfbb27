import java.io.File;

/**
 * Loads Mesos' native library as `org.apache.mesos.MesosNativeLibrary.load()` does (apache/mesos
 * src/java/generated/org/apache/mesos/MesosNativeLibrary.java.in): MESOS_NATIVE_JAVA_LIBRARY,
 * else MESOS_NATIVE_LIBRARY, with `System.load`; neither set, `System.loadLibrary("mesos")`.
 * Prints the search path the JVM built (`boot=`, `jlp=`) and `found=<file>` when the JVM went for
 * a regular file (the test's libmesos.so files are empty, so loading it then fails), else
 * `found=`.
 */
public class LoadMesos {
    public static void main(String[] args) {
        System.out.println("boot=" + System.getProperty("sun.boot.library.path"));
        System.out.println("jlp=" + System.getProperty("java.library.path"));
        String path = System.getenv("MESOS_NATIVE_JAVA_LIBRARY");
        if (path == null) {
            path = System.getenv("MESOS_NATIVE_LIBRARY");
        }
        String found = "";
        try {
            if (path != null) {
                System.load(path);
            } else {
                System.loadLibrary("mesos");
            }
            found = "(loaded)";
        } catch (UnsatisfiedLinkError e) {
            // dlopen's error starts with the file it was given: "<file>: <file>: file too short".
            String message = String.valueOf(e.getMessage());
            int colon = message.indexOf(": ");
            String file = colon > 0 ? message.substring(0, colon) : "";
            if (new File(file).isFile()) {
                found = file;
            }
        }
        System.out.println("found=" + found);
    }
}
